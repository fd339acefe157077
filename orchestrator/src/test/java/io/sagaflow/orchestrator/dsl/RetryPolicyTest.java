package io.sagaflow.orchestrator.dsl;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
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
  void retryAfterIsHonouredAndLengthenedByAtMostTheJitter() {
    var defaults = RetryPolicy.DEFAULT; // jitter 0.2, maxBackoff 10 s
    for (int i = 0; i < 1000; i++) {
      assertThat(defaults.backoffAfter(1, Optional.of(Duration.ofSeconds(1))))
          .isBetween(Duration.ofMillis(1000), Duration.ofMillis(1200));
    }
  }

  /**
   * A thousand sagas told {@code Retry-After: 1} at the same moment come back spread over the
   * jitter's 200 ms: every 20 ms of it gets some (about 100 each), none gets them all.
   */
  @Test
  void sagasGivenTheSameRetryAfterDoNotComeBackAtOneInstant() {
    int[] buckets = new int[10];
    for (int i = 0; i < 1000; i++) {
      long millis =
          RetryPolicy.DEFAULT.backoffAfter(1, Optional.of(Duration.ofSeconds(1))).toMillis();
      buckets[(int) Math.min(9, (millis - 1000) / 20)]++;
    }
    for (int n : buckets) {
      assertThat(n).as("arrivals per 20 ms: %s", Arrays.toString(buckets)).isBetween(30, 300);
    }
  }

  @Test
  void retryAfterBeyondMaxBackoffIsCappedBeforeTheJitter() {
    for (int i = 0; i < 100; i++) {
      assertThat(policy.backoffAfter(1, Optional.of(Duration.ofSeconds(30))))
          .isBetween(Duration.ofMillis(700), Duration.ofMillis(1050));
    }
  }

  @Test
  void retryAfterShorterThanTheBackoffLeavesTheBackoff() {
    var noJitter = policy.toBuilder().jitter(0).build();

    assertThat(noJitter.backoffAfter(3, Optional.of(Duration.ofMillis(10))))
        .isEqualTo(Duration.ofMillis(400));
    assertThat(noJitter.backoffAfter(1, Optional.of(Duration.ofMillis(300))))
        .isEqualTo(Duration.ofMillis(300));
    assertThat(noJitter.backoffAfter(2, Optional.empty())).isEqualTo(Duration.ofMillis(200));
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
