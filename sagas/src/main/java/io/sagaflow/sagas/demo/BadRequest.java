package io.sagaflow.sagas.demo;

/** A request a demo service cannot read; answered with 400 and never stored under its key. */
final class BadRequest extends RuntimeException {

  BadRequest(String detail) {
    super(detail, null, false, false);
  }

  Reply reply() {
    return Reply.problem(400, "invalid-request", "Invalid request", getMessage());
  }
}
