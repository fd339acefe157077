package io.sagaflow.sagas.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.Optional;
import java.util.Set;

/**
 * Failures injected into a demo service's next calls, so that retries, timeouts and compensations
 * can be watched. Set with {@code POST /{service}/faults}, cleared with {@code DELETE}; only
 * business calls count, not these admin calls or the ledger.
 */
final class FaultSwitch {

  static final int DEFAULT_STATUS = 503;
  static final int MAX_COUNT = 10_000;
  static final int MAX_DELAY_MS = 60_000;
  static final int MAX_RETRY_AFTER_SECONDS = 3_600;

  private static final Set<String> FIELDS =
      Set.of("status", "count", "delayMs", "retryAfterSeconds", "passThrough");

  /**
   * One armed fault.
   *
   * @param status what the faulted calls answer (ignored with {@code passThrough})
   * @param remaining how many more calls it applies to
   * @param delayMs how long each faulted call waits before it answers
   * @param retryAfterSeconds the {@code Retry-After} sent with 503 and 429
   * @param passThrough when set, faulted calls are only delayed and then served normally, which
   *     lets a call outlive the orchestrator's timeout and still take effect
   */
  record Fault(int status, int remaining, int delayMs, int retryAfterSeconds, boolean passThrough) {

    /** The failure a faulted call gets (unless the fault passes calls through). */
    Reply reply() {
      Reply reply =
          Reply.problem(
              status,
              "injected-fault",
              "Injected fault",
              "this call was failed on purpose by the fault switch ("
                  + (remaining - 1)
                  + " more to come)");
      return status == 503 || status == 429
          ? reply.withHeader("Retry-After", Integer.toString(retryAfterSeconds))
          : reply;
    }

    ObjectNode toJson() {
      ObjectNode json = ServiceEndpoint.JSON.createObjectNode();
      if (!passThrough) {
        json.put("status", status);
      }
      return json.put("remaining", remaining)
          .put("delayMs", delayMs)
          .put("retryAfterSeconds", retryAfterSeconds)
          .put("passThrough", passThrough);
    }
  }

  private Fault armed;

  synchronized void arm(Fault fault) {
    armed = fault;
  }

  synchronized void clear() {
    armed = null;
  }

  synchronized Optional<Fault> current() {
    return Optional.ofNullable(armed);
  }

  /** The fault for the call now being served, if one is armed; counts it down. */
  synchronized Optional<Fault> take() {
    Fault fault = armed;
    if (fault == null) {
      return Optional.empty();
    }
    armed =
        fault.remaining() > 1
            ? new Fault(
                fault.status(),
                fault.remaining() - 1,
                fault.delayMs(),
                fault.retryAfterSeconds(),
                fault.passThrough())
            : null;
    return Optional.of(fault);
  }

  /**
   * Reads {@code {"status":503,"count":3,"delayMs":0,"retryAfterSeconds":1,"passThrough":false}};
   * every field is optional. Unknown fields are refused so that a typo does not arm a different
   * fault than meant.
   */
  static Fault parse(JsonNode json) {
    if (json == null || !json.isObject()) {
      throw new BadRequest("the request body must be a JSON object");
    }
    for (Iterator<String> names = json.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!FIELDS.contains(name)) {
        throw new BadRequest("unknown field " + name + "; fields are " + FIELDS);
      }
    }
    if (json.has("passThrough") && !json.get("passThrough").isBoolean()) {
      throw new BadRequest("passThrough must be true or false");
    }
    boolean passThrough = json.path("passThrough").asBoolean(false);
    int count = integer(json, "count", 1, 1, MAX_COUNT);
    int delayMs = integer(json, "delayMs", 0, 0, MAX_DELAY_MS);
    int retryAfter = integer(json, "retryAfterSeconds", 1, 0, MAX_RETRY_AFTER_SECONDS);
    if (passThrough) {
      if (json.has("status")) {
        throw new BadRequest("a passThrough fault only delays calls: give delayMs, not status");
      }
      if (delayMs == 0) {
        throw new BadRequest("a passThrough fault needs delayMs > 0");
      }
      return new Fault(DEFAULT_STATUS, count, delayMs, retryAfter, true);
    }
    int status = integer(json, "status", DEFAULT_STATUS, 400, 599);
    return new Fault(status, count, delayMs, retryAfter, false);
  }

  private static int integer(JsonNode json, String field, int fallback, int min, int max) {
    JsonNode node = json.get(field);
    if (node == null || node.isNull()) {
      return fallback;
    }
    if (!node.isIntegralNumber()
        || !node.canConvertToInt()
        || node.intValue() < min
        || node.intValue() > max) {
      throw new BadRequest(field + " must be an integer between " + min + " and " + max);
    }
    return node.intValue();
  }
}
