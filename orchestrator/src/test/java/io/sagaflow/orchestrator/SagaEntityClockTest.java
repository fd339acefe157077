package io.sagaflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaReplies.StartReply;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepRejectedException;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaHistory;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import io.sagaflow.orchestrator.internal.ParticipantClient;
import io.sagaflow.orchestrator.internal.StepRunner;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.ScriptedSteps;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The saga entity reads the time from the clock it is given, never from the system. */
class SagaEntityClockTest {
  private static final ActorTestKit testKit =
      ActorTestKit.create(
          EventSourcedBehaviorTestKit.config()
              .withFallback(ConfigFactory.parseString("pekko.loglevel = INFO"))
              .withFallback(ConfigFactory.load()));

  private static final Instant THEN = Instant.parse("2031-02-03T04:05:06Z");

  private final ScriptedSteps script = new ScriptedSteps();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void everyEventAndTheDeadlineAreMeasuredByTheGivenClock() {
    var definition =
        SagaDefinition.builder("timed")
            .deadline(Duration.ofMinutes(10))
            .defaultRetry(r -> r.maxAttempts(1))
            .step(
                Step.named("first")
                    .invoke(script.action("first"))
                    .compensateWith(script.compensation("first")))
            .step(Step.named("second").invoke(script.action("second")).noCompensation())
            .build();
    ParticipantClient noHttp =
        request -> CompletableFuture.failedFuture(new AssertionError("no HTTP in this test"));
    var runner =
        new StepRunner(
            noHttp, SagaEngine.objectMapper(testKit.system()), ForkJoinPool.commonPool());
    var kit =
        EventSourcedBehaviorTestKit.<SagaEntity.Command, SagaEvent, SagaSnapshot>create(
            testKit.system(),
            SagaEntity.create(
                "clocked",
                null,
                SagaRegistry.of(definition),
                runner,
                Clock.fixed(THEN, ZoneOffset.UTC)));

    kit.<StartReply>runCommand(
        replyTo ->
            new SagaEntity.Start(
                "timed", null, JsonNodeFactory.instance.objectNode().put("n", 1), replyTo));
    script.awaitAction("first", 1).succeed();
    script.awaitAction("second", 1).fail(new StepRejectedException("no"));
    script.awaitCompensation("first", 1).succeed();
    Eventually.until(
        "compensated",
        Duration.ofSeconds(10),
        () ->
            kit.getState() instanceof SagaSnapshot.Started s
                && s.status() == SagaStatus.COMPENSATED);

    List<Object> events =
        PersistenceTestKit.create(testKit.system())
            .persistedInStorage(SagaHistory.persistenceId("clocked").id());
    assertThat(events).hasSize(4).allSatisfy(e -> assertThat(((SagaEvent) e).at()).isEqualTo(THEN));
    assertThat(((SagaEvent.SagaStarted) events.get(0)).deadline())
        .isEqualTo(THEN.plus(Duration.ofMinutes(10)));
  }
}
