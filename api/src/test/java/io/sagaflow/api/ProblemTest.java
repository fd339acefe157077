package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.orchestrator.SagaReplies;
import org.junit.jupiter.api.Test;

class ProblemTest {

  @Test
  void aRefusedStartNamesTheTypeOrTheInputInTheRegistrysWords() {
    var unknown = new SagaReplies.Invalid(SagaReplies.Problem.UNKNOWN_TYPE, "no type 'x'");
    var invalid = new SagaReplies.Invalid(SagaReplies.Problem.INVALID_INPUT, "quantity < 1");

    assertThat(Problem.refusedStart(unknown))
        .isEqualTo(
            new Problem(
                "https://sagaflow.dev/problems/unknown-saga-type",
                "Unknown saga type",
                422,
                "no type 'x'",
                "type"));
    assertThat(Problem.refusedStart(invalid))
        .isEqualTo(
            new Problem(
                "https://sagaflow.dev/problems/invalid-input",
                "Invalid input",
                422,
                "quantity < 1",
                "input"));
  }

  @Test
  void aRequestThatCannotBeReadIsInvalidAt400AndRejectedOtherwise() {
    assertThat(Problem.rejected(400, "Bad Request", "no"))
        .isEqualTo(Problem.badRequest("no", null));
    assertThat(Problem.rejected(431, "Request Header Fields Too Large", "big"))
        .isEqualTo(
            new Problem(
                "https://sagaflow.dev/problems/request-rejected",
                "Request Header Fields Too Large",
                431,
                "big",
                null));
  }

  @Test
  void tooLargeSaysTheLimit() {
    assertThat(Problem.tooLarge(1024))
        .isEqualTo(
            new Problem(
                "https://sagaflow.dev/problems/payload-too-large",
                "Payload too large",
                413,
                "the body exceeds 1024 bytes",
                null));
  }
}
