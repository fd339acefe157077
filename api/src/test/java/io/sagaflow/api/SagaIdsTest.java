package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class SagaIdsTest {

  @ParameterizedTest
  @ValueSource(strings = {"a", "order-1", "A.b_c:d-9", "...", ".a", "a.", "..a"})
  void lettersDigitsAndDotUnderscoreColonDashAreIds(String id) {
    assertThat(SagaIds.valid(id)).isTrue();
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "a b", "a/b", "a\u0000b", "s\u00e1ga", "a\nb"})
  void anythingElseIsNot(String id) {
    assertThat(SagaIds.valid(id)).isFalse();
  }

  /**
   * {@code /v1/sagas/..} is no saga's URL: such a saga could never be read, cancelled or retried.
   */
  @ParameterizedTest
  @ValueSource(strings = {".", ".."})
  void theDotSegmentsOfAPathAreNoIds(String id) {
    assertThat(SagaIds.valid(id)).isFalse();
  }

  @Test
  void anIdHasAtMost200Characters() {
    assertThat(SagaIds.valid("a".repeat(200))).isTrue();
    assertThat(SagaIds.valid("a".repeat(201))).isFalse();
  }

  @Test
  void anIdempotencyKeyMustBeAnId() throws Exception {
    assertThat(SagaIds.checkIdempotencyKey("op-1")).isEqualTo("op-1");
    assertThat(Refusal.of(() -> SagaIds.checkIdempotencyKey("a b")))
        .isEqualTo(
            Problem.badRequest(
                "the Idempotency-Key header must match [A-Za-z0-9._:-]{1,200} and not be '.' or '..'",
                "Idempotency-Key"));
  }

  @Test
  void notFoundNamesAnIdButNeverEchoesWhatCannotBeOne() {
    assertThat(SagaIds.notFound("ghost")).isEqualTo(Problem.notFound("no saga with id 'ghost'"));
    assertThat(SagaIds.notFound("a\u0000b"))
        .isEqualTo(
            Problem.notFound(
                "no saga has this id: saga ids match [A-Za-z0-9._:-]{1,200} and not be '.' or"
                    + " '..'"));
  }
}
