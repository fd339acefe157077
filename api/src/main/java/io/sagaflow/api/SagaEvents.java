package io.sagaflow.api;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.List;

/** {@code GET /v1/sagas/{id}/events}: a saga's persisted history, oldest first. */
record SagaEvents(String id, List<Event> events) {

  /** One persisted event: its position, when it was written, its public type name, its JSON. */
  record Event(long sequenceNr, String type, Instant writtenAt, JsonNode data) {}
}
