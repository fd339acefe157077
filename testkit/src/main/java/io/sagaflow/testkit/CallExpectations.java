package io.sagaflow.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Comparator;
import java.util.Objects;

/**
 * Expectations of one attempt the saga made: its idempotency key, participant, method, path and
 * body. The saga's own expectations go on from here ({@code .call(...).hasPath(...).status(...)}).
 */
public final class CallExpectations extends Expectations {

  /** Numbers equal by value ({@code 90.00} is {@code 90}); everything else by JSON equality. */
  private static final Comparator<JsonNode> SAME_JSON =
      (a, b) -> {
        if (a.isNumber() && b.isNumber()) {
          return a.decimalValue().compareTo(b.decimalValue());
        }
        return a.equals(b) ? 0 : 1;
      };

  private final RecordedCall call;

  CallExpectations(Report report, RecordedCall call) {
    super(report);
    this.call = call;
  }

  /** The call carried this {@code Idempotency-Key}. */
  public CallExpectations hasIdempotencyKey(String expected) {
    return same("idempotency key", expected, http("an idempotency key").idempotencyKey());
  }

  /** The call went to this participant. */
  public CallExpectations hasParticipant(String expected) {
    return same("participant", expected, http("a participant").participant());
  }

  /** The call used this HTTP method. */
  public CallExpectations hasMethod(String expected) {
    return same("method", expected, http("a method").method());
  }

  /** The call went to this path (with its query string, if any). */
  public CallExpectations hasPath(String expected) {
    return same("path", expected, http("a path").path());
  }

  /** The call carried this header. */
  public CallExpectations hasHeader(String name, String expected) {
    return same("header " + name, expected, http("headers").headers().get(name));
  }

  /**
   * The call's body is this JSON: the same fields and values in any order, numbers equal by value.
   */
  public CallExpectations hasBody(String json) {
    return hasBody(Expectations.json(report, json, "hasBody"));
  }

  /** The call's body is the JSON Jackson writes of {@code expected} (a record, a map, ...). */
  public CallExpectations hasBody(Object expected) {
    JsonNode want =
        expected instanceof JsonNode node ? node : report.mapper().valueToTree(expected);
    JsonNode sent = http("a body").body();
    if (sent == null || !want.equals(SAME_JSON, sent)) {
      throw report.fail(
          "Expected "
              + name()
              + " to send the body\n  "
              + want
              + "\nbut it sent\n  "
              + (sent == null ? "no body" : sent));
    }
    return this;
  }

  /** The call carried no body. */
  public CallExpectations hasNoBody() {
    JsonNode sent = http("a body").body();
    if (sent != null) {
      throw report.fail("Expected " + name() + " to send no body, but it sent\n  " + sent);
    }
    return this;
  }

  /** The attempt itself, for anything the expectations here do not check. */
  public RecordedCall recorded() {
    return call;
  }

  private CallExpectations same(String what, String expected, String actual) {
    if (!Objects.equals(expected, actual)) {
      throw report.fail(
          "Expected " + name() + " to have " + what + " " + expected + ", but it had " + actual);
    }
    return this;
  }

  private RecordedCall http(String what) {
    if (call.isLocal()) {
      throw report.fail(
          "Expected " + name() + " to have " + what + ", but it ran a local step's function");
    }
    return call;
  }

  private String name() {
    return call.name() + " #" + call.attempt();
  }
}
