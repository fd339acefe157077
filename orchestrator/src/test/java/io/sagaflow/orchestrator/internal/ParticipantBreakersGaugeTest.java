package io.sagaflow.orchestrator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sagaflow.orchestrator.internal.Outcome.Retryable;
import io.sagaflow.orchestrator.internal.Outcome.Succeeded;
import io.sagaflow.orchestrator.internal.ParticipantBreakers.Answer;
import io.sagaflow.orchestrator.testing.Eventually;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * {@code sagaflow_participant_breaker_state}: 1 for the state a breaker is in, 0 for the others.
 */
class ParticipantBreakersGaugeTest {
  private static final ActorTestKit testKit = ActorTestKit.create("ParticipantBreakersGaugeTest");

  @AfterAll
  static void stop() {
    testKit.shutdownTestKit();
  }

  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  // A reset timeout long enough that the open state is read well before the breaker half-opens.
  private final ParticipantBreakers breakers =
      new ParticipantBreakers(
          new ParticipantBreakers.Settings(
              true, 1, Duration.ofMinutes(10), Duration.ofSeconds(3), Duration.ofSeconds(3), 1, 0),
          testKit.system().classicSystem().scheduler(),
          meters);

  @Test
  void theGaugesFollowTheBreakerClosedOpenHalfOpenAndClosedAgain() throws Exception {
    assertThat(meters.getMeters()).as("no breaker before the first call").isEmpty();

    call(new Answer(new Succeeded(JsonNodeFactory.instance.objectNode()), 200));
    assertThat(states()).isEqualTo(Map.of("closed", 1.0, "open", 0.0, "half_open", 0.0));

    call(new Answer(Retryable.of("answered 503"), 503));
    assertThat(states()).isEqualTo(Map.of("closed", 0.0, "open", 1.0, "half_open", 0.0));

    Eventually.until(
        "the breaker half-open after its reset timeout",
        Duration.ofSeconds(10),
        () -> states().get("half_open") == 1.0);
    assertThat(states()).isEqualTo(Map.of("closed", 0.0, "open", 0.0, "half_open", 1.0));

    call(new Answer(new Succeeded(JsonNodeFactory.instance.objectNode()), 200));
    assertThat(states()).isEqualTo(Map.of("closed", 1.0, "open", 0.0, "half_open", 0.0));
  }

  private void call(Answer answer) throws Exception {
    breakers
        .call(
            "payments",
            "POST /charge",
            Map.of(),
            () -> CompletableFuture.completedFuture(answer),
            Runnable::run)
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
  }

  private Map<String, Double> states() {
    return meters
        .find("sagaflow.participant.breaker.state")
        .tag("participant", "payments")
        .gauges()
        .stream()
        .collect(Collectors.toMap(g -> g.getId().getTag("state"), g -> g.value()));
  }
}
