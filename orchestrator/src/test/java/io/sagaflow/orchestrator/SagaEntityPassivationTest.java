package io.sagaflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaReplies.Accepted;
import io.sagaflow.orchestrator.SagaReplies.Found;
import io.sagaflow.orchestrator.SagaReplies.GetReply;
import io.sagaflow.orchestrator.SagaReplies.OperatorReply;
import io.sagaflow.orchestrator.SagaReplies.StartReply;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepRejectedException;
import io.sagaflow.orchestrator.internal.ParticipantClient;
import io.sagaflow.orchestrator.internal.StepRunner;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.ScriptedSteps;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
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

  /** What the sagas asked the durable timers to keep, in order; {@code signal} null for none. */
  private record Scheduled(String sagaId, Instant dueAt, long seqNr, String signal) {}

  /** A saga's request to clear its timers older than its {@code seqNr}-th event. */
  private record Cleared(String sagaId, long seqNr) {}

  private final List<Scheduled> scheduled = new CopyOnWriteArrayList<>();
  private final List<Cleared> cleared = new CopyOnWriteArrayList<>();
  private volatile boolean timersFail;

  private final DurableTimers recording =
      new DurableTimers() {
        @Override
        public CompletionStage<Void> schedule(String sagaId, Instant dueAt, long seqNr) {
          return record(new Scheduled(sagaId, dueAt, seqNr, null));
        }

        @Override
        public CompletionStage<Void> schedule(
            String sagaId, Instant dueAt, long seqNr, String signal, Instant since) {
          return record(new Scheduled(sagaId, dueAt, seqNr, signal));
        }

        @Override
        public CompletionStage<Void> clear(String sagaId, long seqNr) {
          cleared.add(new Cleared(sagaId, seqNr));
          return CompletableFuture.completedFuture(null);
        }

        private CompletionStage<Void> record(Scheduled timer) {
          if (timersFail) {
            return CompletableFuture.failedFuture(new IllegalStateException("database down"));
          }
          scheduled.add(timer);
          return CompletableFuture.completedFuture(null);
        }
      };

  /** The entity's clock, moved on with Pekko's manual scheduler so that both agree. */
  private final java.util.concurrent.atomic.AtomicReference<Instant> now =
      new java.util.concurrent.atomic.AtomicReference<>(Instant.parse("2030-01-01T00:00:00Z"));

  private final Clock clock =
      new Clock() {
        @Override
        public java.time.ZoneId getZone() {
          return java.time.ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
          return this;
        }

        @Override
        public Instant instant() {
          return now.get();
        }
      };

  private void timePasses(Duration d) {
    now.updateAndGet(t -> t.plus(d));
    manualTime.timePasses(d);
  }

  private SagaRegistry waiting(Duration backoff) {
    return SagaRegistry.of(
        SagaDefinition.builder("waits")
            .step(
                Step.named("s1")
                    .invoke(script.action("s1"))
                    .noCompensation()
                    .retry(r -> r.maxAttempts(2).minBackoff(backoff).maxBackoff(backoff).jitter(0)))
            .build());
  }

  private ActorRef<SagaEntity.Command> startWaiting(Duration backoff) {
    ParticipantClient noHttp =
        request -> CompletableFuture.failedFuture(new AssertionError("no HTTP in this test"));
    var runner =
        new StepRunner(
            noHttp, SagaEngine.objectMapper(testKit.system()), ForkJoinPool.commonPool());
    ActorRef<SagaEntity.Command> entity =
        testKit.spawn(
            SagaEntity.create(
                sagaId,
                shard.ref(),
                waiting(backoff),
                runner,
                clock,
                SagaTelemetry.NONE,
                new DurableTimers.Waits(recording, Duration.ofSeconds(10))));
    TestProbe<StartReply> started = testKit.createTestProbe();
    entity.tell(
        new SagaEntity.Start(
            "waits", null, JsonNodeFactory.instance.objectNode().put("n", 1), started.ref()));
    assertThat(started.receiveMessage()).isInstanceOf(Accepted.class);
    return entity;
  }

  /** Starts a saga whose one step waits for {@code signal} at most {@code timeout}. */
  private ActorRef<SagaEntity.Command> startSignalWait(String signal, Duration timeout) {
    ParticipantClient noHttp =
        request -> CompletableFuture.failedFuture(new AssertionError("no HTTP in this test"));
    var runner =
        new StepRunner(
            noHttp, SagaEngine.objectMapper(testKit.system()), ForkJoinPool.commonPool());
    var definitions =
        SagaRegistry.of(
            SagaDefinition.builder("signalled")
                .step(
                    Step.named(signal)
                        .awaitSignal(io.sagaflow.orchestrator.dsl.AwaitSignal.named(signal))
                        .timeout(timeout))
                .build());
    ActorRef<SagaEntity.Command> entity =
        testKit.spawn(
            SagaEntity.create(
                sagaId,
                shard.ref(),
                definitions,
                runner,
                clock,
                SagaTelemetry.NONE,
                new DurableTimers.Waits(recording, Duration.ofSeconds(10))));
    TestProbe<StartReply> started = testKit.createTestProbe();
    entity.tell(
        new SagaEntity.Start(
            "signalled", null, JsonNodeFactory.instance.objectNode(), started.ref()));
    assertThat(started.receiveMessage()).isInstanceOf(Accepted.class);
    return entity;
  }

  @Test
  void aSagaWaitingLongerThanDurableFromWritesItsDueTimeAndThenAsksToPassivate() {
    var entity = startWaiting(Duration.ofMinutes(5));
    script.awaitAction("s1", 1).fail(new IllegalStateException("not yet"));

    var passivate = shard.expectMessageClass(ClusterSharding.Passivate.class);
    assertThat(passivate.entity()).isEqualTo(entity);
    assertThat(scheduled).hasSize(1);
    Scheduled timer = scheduled.get(0);
    assertThat(timer.sagaId()).isEqualTo(sagaId);
    // SagaStarted and StepAttemptFailed: the timer stands for the journal as it ends there.
    assertThat(timer.seqNr()).isEqualTo(2);
    assertThat(timer.dueAt()).isEqualTo(now.get().plus(Duration.ofMinutes(5)));
  }

  @Test
  void aSagaWaitingLongForASignalWritesItsTimeoutAndAsksToPassivate() {
    var entity = startSignalWait("approval", Duration.ofHours(24));

    var passivate = shard.expectMessageClass(ClusterSharding.Passivate.class);
    assertThat(passivate.entity()).isEqualTo(entity);
    assertThat(scheduled).hasSize(1);
    // Its timeout: a day from when the step became due (the start).
    assertThat(scheduled.get(0).dueAt()).isEqualTo(now.get().plus(Duration.ofHours(24)));
    assertThat(scheduled.get(0).seqNr()).isEqualTo(1);
  }

  @Test
  void aShortSignalWaitIsWrittenWithItsSignalStaysInMemoryAndIsClearedOnceTaken() {
    var entity = startSignalWait("confirm", Duration.ofSeconds(5));

    // Listed as waiting (its timer names the signal), but too short a wait to leave memory.
    Eventually.until("the wait is written", Duration.ofSeconds(10), () -> !scheduled.isEmpty());
    assertThat(scheduled)
        .containsExactly(
            new Scheduled(sagaId, now.get().plus(Duration.ofSeconds(5)), 1, "confirm"));
    manualTime.expectNoMessageFor(Duration.ofSeconds(4), shard);
    assertThat(cleared).isEmpty();

    TestProbe<OperatorReply> signalled = testKit.createTestProbe();
    entity.tell(
        new SagaEntity.Signal(
            "confirm", JsonNodeFactory.instance.objectNode(), "c-1", signalled.ref()));
    assertThat(signalled.receiveMessage()).isInstanceOf(SagaReplies.Done.class);
    shard.expectMessageClass(ClusterSharding.Passivate.class); // ended: passivated at once
    // The first event after the wait (SignalReceived, the 2nd) cleared the timer of the 1st.
    assertThat(cleared).containsExactly(new Cleared(sagaId, 2));
    assertThat(scheduled).hasSize(1);
  }

  @Test
  void aShortWaitStaysInMemoryOnItsActorTimer() {
    startWaiting(Duration.ofSeconds(5));
    script.awaitAction("s1", 1).fail(new IllegalStateException("not yet"));
    manualTime.expectNoMessageFor(Duration.ofSeconds(4), shard);
    now.updateAndGet(t -> t.plusSeconds(4));
    timePasses(Duration.ofSeconds(1));
    script.awaitAction("s1", 2).succeed();

    shard.expectMessageClass(ClusterSharding.Passivate.class); // ended: passivated at once
    assertThat(scheduled).isEmpty();
  }

  @Test
  void aSagaWhoseTimerCannotBeWrittenWaitsInMemory() {
    timersFail = true;
    startWaiting(Duration.ofMinutes(5));
    script.awaitAction("s1", 1).fail(new IllegalStateException("not yet"));
    manualTime.expectNoMessageFor(Duration.ofMinutes(5).minusMillis(1), shard);
    now.updateAndGet(t -> t.plus(Duration.ofMinutes(5).minusMillis(1)));
    timePasses(Duration.ofMillis(1));
    script.awaitAction("s1", 2).succeed();

    shard.expectMessageClass(ClusterSharding.Passivate.class);
    assertThat(scheduled).isEmpty();
  }

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
