package io.sagaflow.api;

import java.util.regex.Pattern;

/** What a saga id may be, wherever it comes from: a body, an Idempotency-Key header or a path. */
final class SagaIds {
  // "." and ".." are dot segments of a URL path: /v1/sagas/.. is not the saga "..", so a saga
  // with such an id could never be read, cancelled or retried.
  static final Pattern PATTERN = Pattern.compile("(?!\\.\\.?$)[A-Za-z0-9._:-]{1,200}");

  /** The rule in words, for problems: the pattern's lookahead would puzzle a client. */
  static final String RULE = "[A-Za-z0-9._:-]{1,200} and not be '.' or '..'";

  private SagaIds() {}

  static boolean valid(String id) {
    return PATTERN.matcher(id).matches();
  }

  /** The header names a saga (a start) or a command (cancel, retry): it must be an id too. */
  static String checkIdempotencyKey(String key) throws InvalidRequest {
    if (!valid(key)) {
      throw new InvalidRequest(
          Problem.badRequest("the Idempotency-Key header must match " + RULE, "Idempotency-Key"));
    }
    return key;
  }

  /** A path id that no saga can have is not looked up (NUL, for one, would fail the query). */
  static Problem notFound(String id) {
    return Problem.notFound(
        valid(id) ? "no saga with id '" + id + "'" : "no saga has this id: saga ids match " + RULE);
  }
}
