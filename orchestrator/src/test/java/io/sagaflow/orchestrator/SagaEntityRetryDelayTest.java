package io.sagaflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.orchestrator.dsl.RetryPolicy;
import io.sagaflow.orchestrator.internal.Outcome;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;

/**
 * The wait before a saga's next attempt: a participant's {@code Retry-After} is capped by the
 * step's {@code maxBackoff}, the wait an open circuit breaker asks of an attempt it did not send is
 * not (every saga would otherwise come back at one {@code maxBackoff}, together).
 */
class SagaEntityRetryDelayTest {

  private final RetryPolicy policy =
      RetryPolicy.builder()
          .minBackoff(Duration.ofMillis(200))
          .maxBackoff(Duration.ofSeconds(3))
          .jitter(0.2)
          .build();

  @Test
  void anAttemptTheBreakerDidNotSendWaitsForTheBreakerEvenPastMaxBackoff() {
    Duration wait = Duration.ofMillis(7_300);
    Duration delay =
        SagaEntity.retryDelay(policy, 3, Outcome.Retryable.notSent("not sent: open", wait));
    assertThat(delay).isEqualTo(wait);
  }

  @Test
  void aBreakerWaitShorterThanThePolicysBackoffIsKeptForTheSpread() {
    Duration wait = Duration.ofMillis(1_100);
    Duration delay =
        SagaEntity.retryDelay(policy, 10, Outcome.Retryable.notSent("not sent: half-open", wait));
    // Not the tenth attempt's 2.4-3 s: the breaker's spread decides when it comes back.
    assertThat(delay).isEqualTo(wait);
  }

  @Test
  void aBreakerWaitIsNeverShorterThanMinBackoff() {
    Duration delay =
        SagaEntity.retryDelay(
            policy, 1, Outcome.Retryable.notSent("not sent: half-open", Duration.ofMillis(10)));
    assertThat(delay).isEqualTo(Duration.ofMillis(200));
  }

  @RepeatedTest(20)
  void aParticipantsRetryAfterIsHonouredOnlyAsFarAsMaxBackoff() {
    Duration delay =
        SagaEntity.retryDelay(
            policy, 1, new Outcome.Retryable("answered 503", Optional.of(Duration.ofSeconds(60))));
    // Capped at 3 s, then lengthened by at most 20 % so that sagas told the same do not all return
    // at once.
    assertThat(delay).isBetween(Duration.ofSeconds(3), Duration.ofMillis(3_600));
  }
}
