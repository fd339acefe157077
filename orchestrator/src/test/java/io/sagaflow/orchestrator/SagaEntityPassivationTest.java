package io.sagaflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaReplies.Accepted;
import io.sagaflow.orchestrator.SagaReplies.Found;
import io.sagaflow.orchestrator.SagaReplies.GetReply;
import io.sagaflow.orchestrator.SagaReplies.StartReply;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepRejectedException;
import io.sagaflow.orchestrator.internal.ParticipantClient;
import io.sagaflow.orchestrator.internal.StepRunner;
import io.sagaflow.orchestrator.testing.ScriptedSteps;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * When a saga entity asks its shard to passivate it. The clock is Pekko's manual one, so no timer
 * fires unless a test moves time on: what happens without moving it happens without a timer.
 */
class SagaEntityPassivationTest {
  private static final ActorTestKit testKit =
      ActorTestKit.create(
          ManualTime.config()
              .withFallback(EventSourcedBehaviorTestKit.config())
              .withFallback(ConfigFactory.parseString("pekko.loglevel = INFO"))
              .withFallback(ConfigFactory.load()));
  private static final ManualTime manualTime = ManualTime.get(testKit.system());

  private final ScriptedSteps script = new ScriptedSteps();
  private final String sagaId = "saga-" + UUID.randomUUID();
  private final TestProbe<ClusterSharding.ShardCommand> shard = testKit.createTestProbe();

  private final SagaRegistry registry =
      SagaRegistry.of(
          SagaDefinition.builder("two")
              .defaultRetry(r -> r.maxAttempts(1))
              .compensationRetry(r -> r.maxAttempts(1))
              .step(
                  Step.named("s1")
                      .invoke(script.action("s1"))
                      .compensateWith(script.compensation("s1")))
              .step(
                  Step.named("s2")
                      .invoke(script.action("s2"))
                      .compensateWith(script.compensation("s2")))
              .build());

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  private ActorRef<SagaEntity.Command> startSaga() {
    ParticipantClient noHttp =
        request -> CompletableFuture.failedFuture(new AssertionError("no HTTP in this test"));
    var runner =
        new StepRunner(
            noHttp, SagaEngine.objectMapper(testKit.system()), ForkJoinPool.commonPool());
    ActorRef<SagaEntity.Command> entity =
        testKit.spawn(SagaEntity.create(sagaId, shard.ref(), registry, runner));
    TestProbe<StartReply> started = testKit.createTestProbe();
    entity.tell(
        new SagaEntity.Start(
            "two", null, JsonNodeFactory.instance.objectNode().put("n", 1), started.ref()));
    assertThat(started.receiveMessage()).isInstanceOf(Accepted.class);
    return entity;
  }

  private SagaStatus status(ActorRef<SagaEntity.Command> entity) {
    TestProbe<GetReply> reply = testKit.createTestProbe();
    entity.tell(new SagaEntity.Get(reply.ref()));
    return ((Found) reply.receiveMessage()).saga().status();
  }

  @Test
  void aSagaThatHasEndedAsksToPassivateAtOnce() {
    var entity = startSaga();
    script.awaitAction("s1", 1).succeed();
    script.awaitAction("s2", 1).succeed();

    var passivate = shard.expectMessageClass(ClusterSharding.Passivate.class);
    assertThat(passivate.entity()).isEqualTo(entity);
    assertThat(status(entity)).isEqualTo(SagaStatus.COMPLETED);
  }

  @Test
  void aFailedSagaWaitsAMomentSoThatAResumeOnItsWayIsNotCutShort() {
    var entity = startSaga();
    script.awaitAction("s1", 1).succeed();
    script.awaitAction("s2", 1).fail(new StepRejectedException("no"));
    script.awaitCompensation("s1", 1).fail(new StepRejectedException("cannot undo"));
    assertThat(status(entity)).isEqualTo(SagaStatus.FAILED);

    manualTime.expectNoMessageFor(Duration.ofMillis(900), shard);
    manualTime.timePasses(Duration.ofMillis(100));
    var passivate = shard.expectMessageClass(ClusterSharding.Passivate.class);
    assertThat(passivate.entity()).isEqualTo(entity);
  }
}
