package io.sagaflow.orchestrator.dsl;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

class RetryPolicyTest {
  private final RetryPolicy policy =
      RetryPolicy.builder()
          .maxAttempts(5)
          .minBackoff(Duration.ofMillis(100))
          .maxBackoff(Duration.ofMillis(700))
          .multiplier(2)
          .jitter(0.5)
          .build();

  @Test
  void ceilingGrowsExponentiallyUpToMaxBackoff() {
    assertThat(policy.ceilingAfter(1)).isEqualTo(Duration.ofMillis(100));
    assertThat(policy.ceilingAfter(2)).isEqualTo(Duration.ofMillis(200));
    assertThat(policy.ceilingAfter(3)).isEqualTo(Duration.ofMillis(400));
    assertThat(policy.ceilingAfter(4)).isEqualTo(Duration.ofMillis(700));
    assertThat(policy.ceilingAfter(1000)).isEqualTo(Duration.ofMillis(700));
  }

  @RepeatedTest(20)
  void jitterOnlyShortensTheDelayByAtMostItsFraction() {
    for (int attempt = 1; attempt <= 5; attempt++) {
      Duration ceiling = policy.ceilingAfter(attempt);
      assertThat(policy.backoffAfter(attempt))
          .isBetween(Duration.ofMillis(ceiling.toMillis() / 2), ceiling);
    }
  }

  @Test
  void maxAttemptsCountsTheFirstAttempt() {
    assertThat(policy.allowsAttemptAfter(4)).isTrue();
    assertThat(policy.allowsAttemptAfter(5)).isFalse();
    var unlimited = policy.toBuilder().unlimitedAttempts().build();
    assertThat(unlimited.allowsAttemptAfter(1_000_000)).isTrue();
    assertThat(unlimited.toString()).contains("maxAttempts=unlimited");
  }

  @Test
  void defaultHasANonZeroBackoff() {
    assertThat(RetryPolicy.DEFAULT.minBackoff()).isPositive();
    assertThat(RetryPolicy.DEFAULT.maxAttempts()).isGreaterThan(1);
  }

  @Test
  void stepRejectedIsAlwaysNonRetryable() {
    var custom = RetryPolicy.builder().nonRetryable(IllegalArgumentException.class).build();
    assertThat(custom.isNonRetryable(new StepRejectedException("no"))).isTrue();
    assertThat(custom.isNonRetryable(new NumberFormatException("x"))).isTrue();
    assertThat(custom.isNonRetryable(new IllegalStateException("x"))).isFalse();
  }

  @Test
  void toBuilderCopiesEveryValue() {
    assertThat(policy.toBuilder().build()).isEqualTo(policy);
  }
}
