package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/** The problem a request is refused with, for the tests of the classes that read requests. */
final class Refusal {
  private Refusal() {}

  static Problem of(ThrowingCallable read) {
    InvalidRequest refused = catchThrowableOfType(InvalidRequest.class, read);
    assertThat(refused).as("the request is refused").isNotNull();
    return refused.problem();
  }
}
