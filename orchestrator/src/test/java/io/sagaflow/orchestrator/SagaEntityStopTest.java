package io.sagaflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaReplies.Accepted;
import io.sagaflow.orchestrator.SagaReplies.StartReply;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.internal.ParticipantClient;
import io.sagaflow.orchestrator.internal.ParticipantRequest;
import io.sagaflow.orchestrator.internal.StepRunner;
import io.sagaflow.orchestrator.testing.Eventually;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * A saga stopped on this node (its shard handed off, passivated, the node leaving) withdraws the
 * attempts it made that have not left yet: another node may own the saga by then, send the attempt
 * itself and compensate the step, and a late copy from here must not follow.
 */
class SagaEntityStopTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private static final ActorTestKit testKit =
      ActorTestKit.create(
          EventSourcedBehaviorTestKit.config()
              .withFallback(ConfigFactory.parseString("pekko.loglevel = INFO"))
              .withFallback(ConfigFactory.load()));

  private final String sagaId = "stopped-" + UUID.randomUUID();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void anHttpCallNotYetSentIsWithdrawnWhenItsSagaStops() {
    List<ParticipantRequest> requests = new CopyOnWriteArrayList<>();
    // The call stays unanswered, as one waiting for a connection does.
    ParticipantClient waiting =
        request -> {
          requests.add(request);
          return new CompletableFuture<>();
        };
    var definition =
        SagaDefinition.builder("http")
            .step(
                Step.named("reserve")
                    .invoke(HttpCall.post("inventory", "/reserve"))
                    .compensateWith(HttpCall.post("inventory", "/release")))
            .build();
    ActorRef<SagaEntity.Command> entity = start(definition, waiting, task -> {});
    Eventually.until("the call was made", WAIT, () -> requests.size() == 1);
    assertThat(requests.get(0).withdrawn().getAsBoolean()).isFalse();

    testKit.stop(entity, WAIT);

    assertThat(requests.get(0).withdrawn().getAsBoolean()).isTrue();
  }

  @Test
  void aLocalStepStillQueuedWhenItsSagaStopsNeverRuns() {
    List<Runnable> queued = new CopyOnWriteArrayList<>();
    Executor holdingPool = queued::add;
    var ran = new AtomicInteger();
    var definition =
        SagaDefinition.builder("local")
            .step(
                Step.named("price")
                    .invoke(
                        LocalCall.of(
                            ctx -> {
                              ran.incrementAndGet();
                              return "priced";
                            }))
                    .noCompensation())
            .build();
    ParticipantClient noHttp =
        request -> CompletableFuture.failedFuture(new AssertionError("no HTTP in this test"));
    ActorRef<SagaEntity.Command> entity = start(definition, noHttp, holdingPool);
    Eventually.until("the attempt was queued", WAIT, () -> queued.size() == 1);

    testKit.stop(entity, WAIT);
    // The pool takes the attempt only now.
    queued.get(0).run();

    assertThat(ran).hasValue(0);
  }

  @Test
  void aLocalStepQueuedWhileItsSagaRunsStillRuns() {
    List<Runnable> queued = new CopyOnWriteArrayList<>();
    Executor holdingPool = queued::add;
    var ran = new AtomicInteger();
    var definition =
        SagaDefinition.builder("local")
            .step(
                Step.named("price")
                    .invoke(
                        LocalCall.of(
                            ctx -> {
                              ran.incrementAndGet();
                              return "priced";
                            }))
                    .noCompensation())
            .build();
    ParticipantClient noHttp =
        request -> CompletableFuture.failedFuture(new AssertionError("no HTTP in this test"));
    start(definition, noHttp, holdingPool);
    Eventually.until("the attempt was queued", WAIT, () -> queued.size() == 1);

    queued.get(0).run();

    assertThat(ran).hasValue(1);
  }

  private ActorRef<SagaEntity.Command> start(
      SagaDefinition<?> definition, ParticipantClient client, Executor localSteps) {
    var runner = new StepRunner(client, SagaEngine.objectMapper(testKit.system()), localSteps);
    ActorRef<SagaEntity.Command> entity =
        testKit.spawn(SagaEntity.create(sagaId, null, SagaRegistry.of(definition), runner));
    TestProbe<StartReply> started = testKit.createTestProbe();
    entity.tell(
        new SagaEntity.Start(
            definition.name(), null, JsonNodeFactory.instance.objectNode(), started.ref()));
    assertThat(started.receiveMessage()).isInstanceOf(Accepted.class);
    return entity;
  }
}
