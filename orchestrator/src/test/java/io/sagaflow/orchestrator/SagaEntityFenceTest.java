package io.sagaflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.fence.NodeFence;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import io.sagaflow.orchestrator.internal.Outcome;
import io.sagaflow.orchestrator.internal.ParticipantClient;
import io.sagaflow.orchestrator.internal.StepRunner;
import io.sagaflow.orchestrator.testing.Eventually;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ForkJoinPool;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A saga on a node whose fence is shut ({@link NodeFence}: lease expired, or the minority side of a
 * partition) calls no participant and records no attempt; once the fence opens it carries on where
 * it was. Its own actor system: the fence is per system.
 */
class SagaEntityFenceTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private static final ActorTestKit testKit =
      ActorTestKit.create(
          EventSourcedBehaviorTestKit.config()
              .withFallback(ConfigFactory.parseString("pekko.loglevel = INFO"))
              .withFallback(ConfigFactory.load()));
  private static final PersistenceTestKit journal = PersistenceTestKit.create(testKit.system());

  private final String sagaId = "fenced-" + UUID.randomUUID();
  private final NodeFence fence = NodeFence.get(Adapter.toClassic(testKit.system()));
  private final List<String> calls = new CopyOnWriteArrayList<>();

  private final SagaDefinition<?> twoSteps =
      SagaDefinition.builder("two")
          .step(
              Step.named("reserve")
                  .invoke(HttpCall.post("inventory", "/reserve"))
                  .compensateWith(HttpCall.post("inventory", "/release")))
          .step(Step.named("charge").invoke(HttpCall.post("payments", "/charge")).noCompensation())
          .build();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void aFencedNodeCallsNoParticipantAndRecordsNoAttemptUntilItsLeaseIsBack() {
    fence.enable("test-node");
    fence.renewed(System.nanoTime(), Duration.ofMinutes(10));
    // The first step's answer arrives just as the node finds itself outnumbered.
    ParticipantClient client =
        request -> {
          calls.add(request.path());
          if (request.path().equals("/reserve")) {
            fence.minority(true);
          }
          return CompletableFuture.completedFuture(
              new Outcome.Succeeded(JsonNodeFactory.instance.objectNode().put("ok", true)));
        };
    var kit =
        EventSourcedBehaviorTestKit.<SagaEntity.Command, SagaEvent, SagaSnapshot>create(
            testKit.system(),
            SagaEntity.create(
                sagaId,
                null,
                SagaRegistry.of(twoSteps),
                new StepRunner(
                    client, SagaEngine.objectMapper(testKit.system()), ForkJoinPool.commonPool())));
    kit.<SagaReplies.StartReply>runCommand(
        replyTo ->
            new SagaEntity.Start(
                "two", null, JsonNodeFactory.instance.objectNode().put("k", 1), replyTo));

    // The outcome of the call made before the fence shut is kept (the journal decides whether it
    // may be written; this test's in-memory one takes it). The next step is not called: the saga
    // looks again, twice, and still calls nothing.
    Eventually.until("reserve's outcome written", WAIT, () -> events().size() == 2);
    long refusedBefore = fence.refusals();
    Eventually.until(
        "the saga looked at its next step twice while fenced",
        WAIT,
        () -> fence.refusals() >= refusedBefore + 2);
    assertThat(calls).containsExactly("/reserve");
    assertThat(events()).hasSize(2);

    fence.minority(false);
    Eventually.until(
        "completed once the fence opened",
        WAIT,
        () ->
            kit.getState() instanceof SagaSnapshot.Started s && s.status() == SagaStatus.COMPLETED);
    assertThat(calls).containsExactly("/reserve", "/charge");
    assertThat(events())
        .extracting(e -> e.getClass().getSimpleName())
        .containsExactly("SagaStarted", "StepSucceeded", "SagaCompleted");
  }

  private List<Object> events() {
    return journal.persistedInStorage("saga|" + sagaId);
  }
}
