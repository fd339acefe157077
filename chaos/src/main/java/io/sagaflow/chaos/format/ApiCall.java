package io.sagaflow.chaos.format;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One line of a run's {@code history.jsonl}: an API call the load generator made (or a probe of a
 * node), logged once when it is sent ({@link Phase#INVOKE}) and once when its outcome is known.
 *
 * @param t when, epoch milliseconds
 * @param worker the load generator's worker that made the call
 * @param op {@link Op}
 * @param sagaId the saga the call is about; null for {@link Op#READY}
 * @param node the node whose API was called ({@code node1}..)
 * @param phase {@link Phase}
 * @param http the HTTP status, 0 when none came back
 * @param sagaStatus for a {@link Op#GET} that answered 200: the saga's status
 * @param detail a short free-text reason (a problem's title, an exception's message)
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record ApiCall(
    long t,
    int worker,
    Op op,
    String sagaId,
    String node,
    Phase phase,
    int http,
    String sagaStatus,
    String detail) {

  /** The line logged when a call is sent, now. */
  public static ApiCall invoked(int worker, Op op, String sagaId, String node) {
    return ended(worker, op, sagaId, node, Phase.INVOKE, 0, null, null);
  }

  /** The line logged now for a call in {@code phase}: its outcome, once known. */
  public static ApiCall ended(
      int worker,
      Op op,
      String sagaId,
      String node,
      Phase phase,
      int http,
      String sagaStatus,
      String detail) {
    return new ApiCall(
        System.currentTimeMillis(), worker, op, sagaId, node, phase, http, sagaStatus, detail);
  }

  public enum Op {
    /** {@code POST /v1/sagas}. */
    START,
    /** {@code GET /v1/sagas/{id}}. */
    GET,
    /** {@code POST /v1/sagas/{id}/cancel}. */
    CANCEL,
    /** {@code POST /v1/sagas/{id}/retry}. */
    RETRY,
    /** {@code GET /ready} on the node's management port, after the last fault (check C7). */
    READY
  }

  public enum Phase {
    /** Sent; the outcome is not known yet. */
    INVOKE,
    /** Acknowledged: for a start, 201 or 200 (the saga exists and must never be lost). */
    OK,
    /** Definitely refused: 4xx other than 408/429, nothing happened. */
    FAIL,
    /** No answer, a timeout or 5xx: it may or may not have taken effect. */
    UNKNOWN
  }
}
