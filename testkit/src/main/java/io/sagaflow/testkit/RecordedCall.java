package io.sagaflow.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.history.Phase;
import java.time.Instant;
import java.util.Map;

/**
 * One attempt the saga made, as the kit saw it: a call to a participant, or a run of a local step's
 * function (which has no participant, request or headers).
 *
 * @param phase {@code FORWARD} for a step's action, {@code COMPENSATION} for its undo
 * @param step the step's name
 * @param attempt the attempt's number, as the saga counts it (from 1; a resume carries on counting)
 * @param at when it was made, in the kit's virtual time
 * @param participant the participant called; null for a local step
 * @param method the HTTP method; null for a local step
 * @param path the path called, under the participant's base URL; null for a local step
 * @param body the JSON body sent; null for none
 * @param headers the saga's headers ({@code Idempotency-Key}, {@code Saga-Id}, ...)
 * @param answer what the script answered, e.g. {@code 503} or {@code no answer}; {@code local} for
 *     a local step
 */
public record RecordedCall(
    Phase phase,
    String step,
    int attempt,
    Instant at,
    String participant,
    String method,
    String path,
    JsonNode body,
    Map<String, String> headers,
    String answer) {

  public RecordedCall {
    headers = Map.copyOf(headers);
  }

  static RecordedCall local(Phase phase, String step, int attempt, Instant at) {
    return new RecordedCall(phase, step, attempt, at, null, null, null, null, Map.of(), "local");
  }

  /** Whether this ran a local step's function rather than calling a participant. */
  public boolean isLocal() {
    return participant == null;
  }

  public boolean isCompensation() {
    return phase == Phase.COMPENSATION;
  }

  /** How the kit lists it: the step's name, or {@code undo <step>} for a compensation. */
  public String name() {
    return isCompensation() ? "undo " + step : step;
  }

  /** The {@code Idempotency-Key} header; null for a local step. */
  public String idempotencyKey() {
    return headers.get("Idempotency-Key");
  }

  /** The call as a person reads it, e.g. {@code hold-seats #2 venues POST /holds -> 503}. */
  public String describe() {
    String what = name() + " #" + attempt;
    return isLocal()
        ? what + " (local)"
        : what + " " + participant + " " + method + " " + path + " -> " + answer;
  }
}
