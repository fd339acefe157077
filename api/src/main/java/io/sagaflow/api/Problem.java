package io.sagaflow.api;

import com.fasterxml.jackson.annotation.JsonInclude;

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
}
