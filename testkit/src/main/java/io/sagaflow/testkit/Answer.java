package io.sagaflow.testkit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import io.sagaflow.orchestrator.internal.Outcome;
import io.sagaflow.orchestrator.internal.ParticipantAnswers;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/**
 * What a scripted participant answers one call: a status with a body, a status with {@code
 * Retry-After}, no answer at all, or a 2xx whose body cannot be read. The engine takes it exactly
 * as it would take the same answer over HTTP ({@link ParticipantAnswers}): a 2xx succeeds with its
 * body as the step's output, 408, 425, 429 and 5xx are retried, any other status rejects the step.
 */
public final class Answer {

  // Stands in for the participant's own serializer: it writes ok(Object) bodies, and checks the
  // JSON given as text.
  private static final ObjectMapper PARTICIPANT_JSON =
      JsonMapper.builder()
          .findAndAddModules()
          .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  private static final int EXCERPT = 60;

  private final int status;
  private final String body;
  private final boolean declaredJson;
  private final Duration retryAfter;
  private final boolean answers;
  private final int times;

  private Answer(
      int status,
      String body,
      boolean declaredJson,
      Duration retryAfter,
      boolean answers,
      int times) {
    this.status = status;
    this.body = body;
    this.declaredJson = declaredJson;
    this.retryAfter = retryAfter;
    this.answers = answers;
    this.times = times;
  }

  /** 200 with the body {@code {}}: what a step nobody scripted answers. */
  public static Answer ok() {
    return new Answer(200, "{}", true, null, true, 1);
  }

  /**
   * 200 with this JSON body.
   *
   * @throws IllegalArgumentException when {@code json} is not valid JSON (script a 2xx that cannot
   *     be read with {@link #unreadable()})
   */
  public static Answer ok(String json) {
    Objects.requireNonNull(json, "json");
    try {
      PARTICIPANT_JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "Answer.ok(json): not valid JSON ("
              + e.getOriginalMessage()
              + "); for a 2xx whose body cannot be read, use Answer.unreadable()",
          e);
    }
    return new Answer(200, json, true, null, true, 1);
  }

  /**
   * 200 with {@code body} written as JSON by Jackson (a record, a map, a {@code JsonNode}); a
   * {@code String} is taken as JSON text ({@link #ok(String)}).
   */
  public static Answer ok(Object body) {
    Objects.requireNonNull(body, "body");
    try {
      return new Answer(200, PARTICIPANT_JSON.writeValueAsString(body), true, null, true, 1);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "Answer.ok(body): " + body.getClass().getSimpleName() + " cannot be written as JSON", e);
    }
  }

  /**
   * This status with an empty body, e.g. {@code 503} (retried), {@code 422} (rejected) or {@code
   * 204} (succeeded, no output).
   */
  public static Answer status(int status) {
    return new Answer(checked(status), "", false, null, true, 1);
  }

  /**
   * This status with this body, declared JSON when it is JSON and text otherwise: a participant's
   * problem document, or a 2xx body.
   */
  public static Answer status(int status, String body) {
    Objects.requireNonNull(body, "body");
    return new Answer(checked(status), body, isJson(body), null, true, 1);
  }

  /**
   * This status (one that is retried: 429, 503, ...) asking the saga to wait {@code wait} before
   * its next attempt, as the {@code Retry-After} header does.
   */
  public static Answer retryAfter(int status, Duration wait) {
    Objects.requireNonNull(wait, "wait");
    if (wait.isNegative()) {
      throw new IllegalArgumentException("Answer.retryAfter: the wait must not be negative");
    }
    return new Answer(checked(status), "", false, wait, true, 1);
  }

  /**
   * No answer: the call is still open when the step's timeout passes (in the kit's virtual time, at
   * once), as when a participant hangs or the network drops the reply. The call may have happened.
   */
  public static Answer timeout() {
    return new Answer(0, "", false, null, false, 1);
  }

  /**
   * 200 declared JSON whose body is not JSON: the participant applied the call, but its output is
   * lost, so the step is uncertain.
   */
  public static Answer unreadable() {
    return new Answer(200, "{\"truncated\": ", true, null, true, 1);
  }

  /** This answer to {@code times} calls in a row, e.g. {@code Answer.status(503).times(3)}. */
  public Answer times(int times) {
    if (times < 1) {
      throw new IllegalArgumentException("Answer.times: at least 1, was " + times);
    }
    return new Answer(status, body, declaredJson, retryAfter, answers, times);
  }

  int count() {
    return times;
  }

  /** Whether the call is answered at all; {@link #timeout()} is not. */
  boolean answers() {
    return answers;
  }

  /** How the engine takes this answer to {@code call} (e.g. {@code payments POST /charges}). */
  Outcome outcome(String call) {
    return ParticipantAnswers.classify(
        call,
        status,
        StatusCodes.lookup(status).map(StatusCode::reason).orElse(""),
        Optional.ofNullable(retryAfter),
        body.getBytes(StandardCharsets.UTF_8),
        StandardCharsets.UTF_8,
        declaredJson);
  }

  private static int checked(int status) {
    if (status < 200 || status > 599) {
      throw new IllegalArgumentException(
          "an answer's status is between 200 and 599, was " + status);
    }
    return status;
  }

  private static boolean isJson(String text) {
    try {
      PARTICIPANT_JSON.readTree(text);
      return !text.isBlank();
    } catch (JsonProcessingException e) {
      return false;
    }
  }

  /** How stories and failures show the answer: {@code 503}, {@code 200 {"id":"r-1"}}, ... */
  @Override
  public String toString() {
    if (!answers) {
      return "no answer";
    }
    String text = status + (body.isEmpty() ? "" : " " + excerpt(body));
    return retryAfter == null ? text : text + " (Retry-After " + Report.human(retryAfter) + ")";
  }

  private static String excerpt(String text) {
    String flat = text.replaceAll("\\s+", " ").strip();
    return flat.length() <= EXCERPT ? flat : flat.substring(0, EXCERPT) + "…";
  }
}
