package io.sagaflow.orchestrator.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.sagaflow.orchestrator.internal.Outcome.Permanent;
import io.sagaflow.orchestrator.internal.Outcome.Retryable;
import io.sagaflow.orchestrator.internal.Outcome.Succeeded;
import io.sagaflow.orchestrator.internal.Outcome.Unreadable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.Charset;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * How a participant's answer becomes the {@link Outcome} of an attempt: the one classification,
 * used by {@link HttpParticipantClient} and by the test kit's scripted participants.
 *
 * <ul>
 *   <li>2xx: {@link Succeeded}, with the body as the output: its JSON; {@link NullNode} when the
 *       body is empty (e.g. 204), so that "no output" stays distinguishable from a participant that
 *       answered {@code {}}; a {@link TextNode} of the text when the body is neither JSON nor
 *       declared as JSON.
 *   <li>2xx whose body is declared JSON and is not: {@link Unreadable}. The participant applied the
 *       effect, so it is neither a rejection nor worth another attempt.
 *   <li>408, 425, 429 and 5xx: {@link Retryable}, with the wait the participant asked for ({@code
 *       Retry-After}).
 *   <li>Any other status: {@link Permanent}, a rejection that applied nothing.
 * </ul>
 */
public final class ParticipantAnswers {

  static final int EXCERPT_CHARS = 200;

  private static final ObjectMapper JSON =
      JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS).build();

  private ParticipantAnswers() {}

  /**
   * The outcome of a complete answer.
   *
   * @param call how errors name the call, e.g. {@code payments POST /charges}
   * @param status the HTTP status
   * @param reason the status's reason phrase (e.g. {@code Service Unavailable}); empty for none
   * @param retryAfter the wait the answer's {@code Retry-After} asked for, if any
   * @param body the body as received (empty for none)
   * @param charset the body's character set
   * @param declaredJson whether the answer declared its body JSON ({@code application/json} or
   *     {@code application/*+json})
   */
  public static Outcome classify(
      String call,
      int status,
      String reason,
      Optional<Duration> retryAfter,
      byte[] body,
      Charset charset,
      boolean declaredJson) {
    Objects.requireNonNull(body, "body");
    if (isSuccess(status)) {
      try {
        return new Succeeded(output(body, charset, declaredJson));
      } catch (JsonProcessingException e) {
        return unreadable(call, status, "not valid JSON (" + excerpt(e.getOriginalMessage()) + ")");
      }
    }
    return failed(call, status, reason, retryAfter, excerpt(new String(body, charset)));
  }

  /**
   * The outcome of an answer that is not a 2xx, its body summed up by {@code excerpt} (a part of
   * it, or why it was not read).
   */
  static Outcome failed(
      String call, int status, String reason, Optional<Duration> retryAfter, String excerpt) {
    String error =
        call
            + " answered "
            + status
            + (reason == null || reason.isEmpty() ? "" : " " + reason)
            + (excerpt.isEmpty() ? "" : ": " + excerpt);
    if (isRetryableStatus(status)) {
      return new Retryable(error, retryAfter);
    }
    return new Permanent(error);
  }

  /** A 2xx whose body cannot be read, and {@code why}. */
  static Unreadable unreadable(String call, int status, String why) {
    return new Unreadable(call, "answered " + status + " but its body could not be read: " + why);
  }

  static boolean isSuccess(int status) {
    return status >= 200 && status <= 299;
  }

  static boolean isRetryableStatus(int status) {
    return status == 408 || status == 425 || status == 429 || (status >= 500 && status <= 599);
  }

  /**
   * The output of a 2xx body: its JSON, or its text when it does not claim to be JSON.
   *
   * @throws JsonProcessingException when it claims to be JSON ({@code json}) and is not
   */
  static JsonNode output(byte[] body, Charset charset, boolean json)
      throws JsonProcessingException {
    if (body.length == 0) {
      return NullNode.getInstance();
    }
    try {
      JsonNode parsed = JSON.readTree(body);
      return parsed == null || parsed.isMissingNode() ? NullNode.getInstance() : parsed;
    } catch (JsonProcessingException e) {
      if (json) {
        throw e;
      }
      return TextNode.valueOf(new String(body, charset));
    } catch (IOException e) {
      throw new UncheckedIOException(e); // reading a byte array does no I/O
    }
  }

  /** At most {@value #EXCERPT_CHARS} characters of {@code text} on one line. */
  static String excerpt(String text) {
    String flat = text.replaceAll("[\\s\\p{Cntrl}]+", " ").strip();
    if (flat.length() <= EXCERPT_CHARS) {
      return flat;
    }
    int end = EXCERPT_CHARS;
    if (Character.isHighSurrogate(flat.charAt(end - 1))) {
      end--;
    }
    return flat.substring(0, end) + "…";
  }
}
