package io.sagaflow.chaos.check;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * One row of {@code event_journal} for a saga, as the checker reads it.
 *
 * @param sagaId the saga (its persistence id without {@code saga|})
 * @param seqNr the row's sequence number
 * @param writer the writer column: one value per incarnation of the saga's actor
 * @param writeTimestamp epoch milliseconds
 * @param eventType the event's simple class name from its manifest, e.g. {@code StepFailed}
 * @param event the event's JSON; null when the payload is not JSON
 */
public record JournalRow(
    String sagaId,
    long seqNr,
    String writer,
    long writeTimestamp,
    String eventType,
    JsonNode event) {

  /**
   * The simple event name of a Jackson manifest such as {@code ...history.SagaEvent$StepFailed}.
   */
  public static String eventType(String manifest) {
    String name = manifest.contains("#") ? manifest.substring(0, manifest.indexOf('#')) : manifest;
    int cut = Math.max(name.lastIndexOf('$'), name.lastIndexOf('.'));
    return name.substring(cut + 1);
  }
}
