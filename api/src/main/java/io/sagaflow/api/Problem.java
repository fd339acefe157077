package io.sagaflow.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.sagaflow.orchestrator.SagaReplies;

/**
 * An RFC 9457 problem: what every error of the API answers, as {@code application/problem+json}.
 *
 * @param field the offending request field or parameter, when there is one
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Problem(String type, String title, int status, String detail, String field) {

  static final String TYPE_PREFIX = "https://sagaflow.dev/problems/";

  static Problem of(int status, String slug, String title, String detail) {
    return new Problem(TYPE_PREFIX + slug, title, status, detail, null);
  }

  static Problem badRequest(String detail, String field) {
    return new Problem(TYPE_PREFIX + "invalid-request", "Invalid request", 400, detail, field);
  }

  static Problem notFound(String detail) {
    return of(404, "not-found", "Not found", detail);
  }

  static Problem conflict(String detail) {
    return of(409, "conflict", "Conflict", detail);
  }

  static Problem unprocessable(String slug, String title, String detail, String field) {
    return new Problem(TYPE_PREFIX + slug, title, 422, detail, field);
  }

  static Problem unavailable(String detail) {
    return of(503, "unavailable", "Service unavailable", detail);
  }

  static Problem internalError(String detail) {
    return of(500, "internal-error", "Internal error", detail);
  }

  static Problem tooLarge(long maxBodyBytes) {
    return of(
        413,
        "payload-too-large",
        "Payload too large",
        "the body exceeds " + maxBodyBytes + " bytes");
  }

  /** A request that cannot be read: a 400 as an invalid request, any other status as rejected. */
  static Problem rejected(int status, String reason, String detail) {
    return status == 400
        ? badRequest(detail, null)
        : of(status, "request-rejected", reason, detail);
  }

  /** A client's string in a problem, cut short: an answer must not echo a huge request back. */
  static String clip(String text) {
    return text.length() <= 64 ? text : text.substring(0, 64) + "…";
  }

  /** Why a start was refused, in the registry's words (shared with the saga's entity). */
  static Problem refusedStart(SagaReplies.Invalid invalid) {
    return invalid.problem() == SagaReplies.Problem.UNKNOWN_TYPE
        ? unprocessable("unknown-saga-type", "Unknown saga type", invalid.detail(), "type")
        : unprocessable("invalid-input", "Invalid input", invalid.detail(), "input");
  }
}
