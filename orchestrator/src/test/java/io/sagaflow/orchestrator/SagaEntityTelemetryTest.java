package io.sagaflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaReplies.OperatorReply;
import io.sagaflow.orchestrator.SagaReplies.StartReply;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.history.Phase;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import io.sagaflow.orchestrator.internal.Outcome;
import io.sagaflow.orchestrator.internal.ParticipantClient;
import io.sagaflow.orchestrator.internal.ParticipantRequest;
import io.sagaflow.orchestrator.internal.StepRunner;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry.AttemptEnd;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry.AttemptOutcome;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry.AttemptStart;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry.Duplicate;
import io.sagaflow.orchestrator.testing.Eventually;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * What a saga tells its {@link SagaTelemetry}: every event it writes and none it replays, each
 * attempt with its participant and trace and how it ended, the duplicates it absorbs and the
 * retries it schedules. On Pekko's persistence test kit with serialization checks on; participants
 * are a scripted client whose answers each test decides.
 */
class SagaEntityTelemetryTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private static final ActorTestKit testKit =
      ActorTestKit.create(
          EventSourcedBehaviorTestKit.config()
              .withFallback(ConfigFactory.parseString("pekko.loglevel = INFO"))
              .withFallback(ConfigFactory.load()));

  private static final ExecutorService LOCAL_STEPS = Executors.newFixedThreadPool(2);

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
    LOCAL_STEPS.shutdownNow();
  }

  private final String sagaId = "saga-" + UUID.randomUUID();

  private final SagaDefinition<?> order =
      SagaDefinition.builder("order")
          .defaultRetry(
              r ->
                  r.maxAttempts(3)
                      .minBackoff(Duration.ofMillis(20))
                      .maxBackoff(Duration.ofSeconds(1))
                      .jitter(0))
          .defaultTimeout(Duration.ofSeconds(30))
          .step(
              Step.named("reserve")
                  .invoke(HttpCall.post("inventory", "/reserve"))
                  .compensateWith(HttpCall.post("inventory", "/release")))
          .step(Step.named("charge").invoke(HttpCall.post("payments", "/charge")).noCompensation())
          .build();

  private final SagaDefinition<?> slow =
      SagaDefinition.builder("slow")
          .defaultRetry(
              r ->
                  r.maxAttempts(3)
                      .minBackoff(Duration.ofMillis(10))
                      .maxBackoff(Duration.ofMillis(10)))
          .step(
              Step.named("only")
                  .invoke(HttpCall.post("slow", "/only"))
                  .timeout(Duration.ofMillis(200))
                  .noCompensation())
          .build();

  /** A group of two, then a fan-out over the input's skus. */
  private final SagaDefinition<?> parallel =
      SagaDefinition.builder("parallel")
          .defaultRetry(
              r ->
                  r.maxAttempts(3)
                      .minBackoff(Duration.ofMillis(10))
                      .maxBackoff(Duration.ofMillis(10)))
          .defaultTimeout(Duration.ofSeconds(30))
          .group(
              "both",
              g ->
                  g.step(
                          Step.named("left")
                              .invoke(HttpCall.post("inventory", "/left"))
                              .noCompensation())
                      .step(
                          Step.named("right")
                              .invoke(HttpCall.post("payments", "/right"))
                              .noCompensation()))
          .step(
              Step.named("each")
                  .forEach(ctx -> java.util.List.of("a", "b"), k -> k)
                  .invoke(HttpCall.post("inventory", ctx -> "/each/" + ctx.elementKey()))
                  .noCompensation())
          .build();

  private final SagaRegistry registry = SagaRegistry.of(order, slow, parallel);

  /** Every call the participants received, in order. */
  private final List<ParticipantRequest> calls = new CopyOnWriteArrayList<>();

  /** What a path answers, one answer per call in turn; the last one repeats; success otherwise. */
  private final Map<String, List<CompletableFuture<Outcome>>> answers = new ConcurrentHashMap<>();

  private final ParticipantClient participants =
      request -> {
        calls.add(request);
        List<CompletableFuture<Outcome>> queue = answers.get(request.path());
        if (queue == null || queue.isEmpty()) {
          return CompletableFuture.completedFuture(ok());
        }
        return queue.size() == 1 ? queue.get(0) : queue.remove(0);
      };

  private final RecordingTelemetry telemetry = new RecordingTelemetry();

  private static Outcome ok() {
    return new Outcome.Succeeded(JsonNodeFactory.instance.objectNode().put("ok", true));
  }

  private void answer(String path, Outcome... outcomes) {
    var queue = new CopyOnWriteArrayList<CompletableFuture<Outcome>>();
    for (Outcome o : outcomes) {
      queue.add(CompletableFuture.completedFuture(o));
    }
    answers.put(path, queue);
  }

  private EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> entity() {
    var runner =
        new StepRunner(participants, SagaEngine.objectMapper(testKit.system()), LOCAL_STEPS);
    return EventSourcedBehaviorTestKit.create(
        testKit.system(),
        SagaEntity.create(sagaId, null, registry, runner, java.time.Clock.systemUTC(), telemetry),
        new EventSourcedBehaviorTestKit.SerializationSettings(true, true, true, true, true));
  }

  private static ObjectNode input() {
    return JsonNodeFactory.instance.objectNode().put("sku", "book");
  }

  private void start(
      EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> kit,
      String type,
      String traceparent) {
    kit.<StartReply>runCommand(
        replyTo -> new SagaEntity.Start(type, null, input(), traceparent, replyTo));
  }

  private SagaSnapshot.Started awaitStatus(
      EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> kit,
      SagaStatus status) {
    return Eventually.await(
        "status " + status,
        WAIT,
        () -> kit.getState() instanceof SagaSnapshot.Started s && s.status() == status ? s : null);
  }

  @Test
  void everyEventWrittenIsToldOnceInOrderAndNoneReplayedAfterARestart() {
    var kit = entity();
    start(kit, "order", null);
    awaitStatus(kit, SagaStatus.COMPLETED);

    assertThat(telemetry.written)
        .extracting(w -> w.event().getClass().getSimpleName())
        .containsExactly("SagaStarted", "StepSucceeded", "SagaCompleted");
    assertThat(telemetry.written.get(2).after().status()).isEqualTo(SagaStatus.COMPLETED);

    kit.restart();

    assertThat(kit.getState()).isInstanceOf(SagaSnapshot.Completed.class);
    assertThat(telemetry.written).hasSize(3);
  }

  @Test
  void anEventWhoseWriteFailsIsNotToldAndTheOneWrittenOnRetryIs() {
    var held = new CompletableFuture<Outcome>();
    answers.put("/reserve", new CopyOnWriteArrayList<>(List.of(held)));
    var kit = entity();
    start(kit, "order", null);
    Eventually.await("reserve called", WAIT, () -> calls.isEmpty() ? null : calls.get(0));

    // The journal refuses reserve's StepSucceeded: the saga restarts, replays its start and calls
    // reserve again (answered at once this time), so StepSucceeded is written once, later.
    kit.persistenceTestKit().failNextPersisted();
    answers.put("/reserve", new CopyOnWriteArrayList<>());
    held.complete(ok());
    awaitStatus(kit, SagaStatus.COMPLETED);

    assertThat(calls).extracting(ParticipantRequest::path).startsWith("/reserve", "/reserve");
    assertThat(telemetry.written)
        .extracting(w -> w.event().getClass().getSimpleName())
        .containsExactly("SagaStarted", "StepSucceeded", "SagaCompleted");
  }

  @Test
  void eachAttemptNamesItsParticipantAndEndsWithItsOutcome() {
    answer("/charge", new Outcome.Permanent("payments POST /charge answered 402"));
    var kit = entity();
    start(kit, "order", null);
    awaitStatus(kit, SagaStatus.COMPENSATED);

    assertThat(telemetry.attempts)
        .extracting(a -> a.start().phase() + " " + a.start().step() + " " + a.start().participant())
        .containsExactly(
            "FORWARD reserve inventory",
            "FORWARD charge payments",
            "COMPENSATION reserve inventory");
    assertThat(telemetry.attempts)
        .extracting(a -> a.end().outcome())
        .containsExactly(AttemptOutcome.SUCCESS, AttemptOutcome.REJECTED, AttemptOutcome.SUCCESS);
    assertThat(telemetry.attempts.get(1).end().error()).contains("402");
  }

  @Test
  void everyBranchAttemptIsAnAttemptAndAFanOutsElementsAreCountedAsTheirStep() {
    answer("/each/b", Outcome.Retryable.of("503"), ok());
    var kit = entity();
    start(kit, "parallel", null);
    awaitStatus(kit, SagaStatus.COMPLETED);

    assertThat(telemetry.attempts)
        .extracting(a -> a.start().step() + " " + a.start().participant() + " " + a.end().outcome())
        .containsExactlyInAnyOrder(
            "left inventory SUCCESS",
            "right payments SUCCESS",
            "each inventory SUCCESS",
            "each inventory RETRYABLE",
            "each inventory SUCCESS");
    assertThat(telemetry.retries).containsExactly("parallel FORWARD each false");
    assertThat(telemetry.written)
        .extracting(w -> w.event().getClass().getSimpleName())
        .containsExactly(
            "SagaStarted",
            "BranchesStarted",
            "BranchSucceeded",
            "BranchSucceeded",
            "BranchesStarted",
            "BranchSucceeded",
            "StepAttemptFailed",
            "BranchSucceeded");
    // One span per attempt, each with a traceparent of its own in the saga's trace.
    assertThat(telemetry.attempts.stream().map(RecordedAttempt::traceparent).distinct()).hasSize(5);
  }

  @Test
  void theParticipantCallCarriesTheAttemptsTraceparentInTheTraceTheStartBrought() {
    String traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    String parent = "00f067aa0ba902b7";
    var kit = entity();
    start(kit, "order", "00-" + traceId + "-" + parent + "-01");
    awaitStatus(kit, SagaStatus.COMPLETED);

    var started = (SagaEvent.SagaStarted) telemetry.written.get(0).event();
    assertThat(started.traceId()).isEqualTo(traceId);
    assertThat(started.parentSpanId()).isEqualTo(parent);
    assertThat(telemetry.attempts).hasSize(2);
    for (int i = 0; i < 2; i++) {
      RecordedAttempt attempt = telemetry.attempts.get(i);
      assertThat(attempt.start().traceId()).isEqualTo(traceId);
      assertThat(attempt.start().parentSpanId()).isEqualTo(parent);
      assertThat(calls.get(i).headers()).containsEntry("traceparent", attempt.traceparent());
      assertThat(attempt.traceparent()).startsWith("00-" + traceId + "-").doesNotContain(parent);
    }
  }

  @Test
  void aStartWithoutAValidTraceparentGetsATraceOfItsOwn() {
    var kit = entity();
    start(kit, "order", "00-00000000000000000000000000000000-00f067aa0ba902b7-01");
    awaitStatus(kit, SagaStatus.COMPLETED);

    var started = (SagaEvent.SagaStarted) telemetry.written.get(0).event();
    assertThat(started.traceId()).hasSize(32).isNotEqualTo("0".repeat(32));
    assertThat(started.parentSpanId()).isNull();
    assertThat(calls.get(0).headers().get("traceparent"))
        .startsWith("00-" + started.traceId() + "-");
  }

  @Test
  void aReplayedAnswerAndARetryAfterAreTold() {
    answer(
        "/reserve",
        new Outcome.Retryable(
            "inventory POST /reserve answered 503", Optional.of(Duration.ofMillis(300))),
        new Outcome.Retryable("inventory POST /reserve answered 503", Optional.empty()),
        new Outcome.Succeeded(JsonNodeFactory.instance.objectNode(), true));
    var kit = entity();
    start(kit, "order", null);
    awaitStatus(kit, SagaStatus.COMPLETED);

    assertThat(telemetry.attempts)
        .extracting(a -> a.start().step() + " " + a.start().attempt() + " " + a.end().outcome())
        .containsExactly(
            "reserve 1 RETRYABLE", "reserve 2 RETRYABLE", "reserve 3 SUCCESS", "charge 1 SUCCESS");
    assertThat(telemetry.attempts.get(0).end().retryAfter()).isEqualTo(Duration.ofMillis(300));
    assertThat(telemetry.attempts.get(2).end().replayed()).isTrue();
    assertThat(telemetry.attempts.get(3).end().replayed()).isFalse();
    // The first retry waits what the participant asked; the second has no Retry-After to honour.
    assertThat(telemetry.retries)
        .containsExactly("order FORWARD reserve true", "order FORWARD reserve false");
  }

  @Test
  void aRepeatedStartAndARepeatedCancelAreDuplicates() {
    var held = new CompletableFuture<Outcome>();
    answers.put("/reserve", new CopyOnWriteArrayList<>(List.of(held)));
    var kit = entity();
    start(kit, "order", null);
    start(kit, "order", null);
    kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Cancel("c-1", "changed", replyTo));
    kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Cancel("c-1", "changed", replyTo));
    held.complete(ok());
    awaitStatus(kit, SagaStatus.COMPENSATED);

    assertThat(telemetry.duplicates).containsExactly("START order", "OPERATOR_COMMAND order");
  }

  @Test
  void theEnginesRepeatOfAnAnsweredCommandIsNeitherAnsweredNorCountedAgain() {
    var held = new CompletableFuture<Outcome>();
    answers.put("/reserve", new CopyOnWriteArrayList<>(List.of(held)));
    var kit = entity();
    // SagaEngine sends a message again, with the same reply address, while no answer has come.
    TestProbe<StartReply> asker = testKit.createTestProbe();
    var start = new SagaEntity.Start("order", null, input(), null, asker.ref());
    kit.runCommand(start);
    kit.runCommand(start);
    TestProbe<OperatorReply> canceller = testKit.createTestProbe();
    var cancel = new SagaEntity.Cancel("c-1", "changed", canceller.ref());
    kit.runCommand(cancel);
    kit.runCommand(cancel);
    held.complete(ok());
    awaitStatus(kit, SagaStatus.COMPENSATED);

    assertThat(asker.receiveMessage()).isInstanceOf(SagaReplies.Accepted.class);
    assertThat(canceller.receiveMessage()).isInstanceOf(SagaReplies.Done.class);
    asker.expectNoMessage(Duration.ofMillis(100));
    canceller.expectNoMessage(Duration.ofMillis(100));
    assertThat(telemetry.duplicates).isEmpty();
  }

  @Test
  void anAttemptThatTimesOutIsATimeoutAndItsLateReplyIsStale() {
    var late = new CompletableFuture<Outcome>();
    answers.put(
        "/only",
        new CopyOnWriteArrayList<>(List.of(late, CompletableFuture.completedFuture(ok()))));
    var kit = entity();
    start(kit, "slow", null);
    awaitStatus(kit, SagaStatus.COMPLETED);

    assertThat(telemetry.attempts)
        .extracting(a -> a.start().attempt() + " " + a.end().outcome())
        .containsExactly("1 TIMEOUT", "2 SUCCESS");
    late.complete(ok());
    Eventually.until("the late reply ignored", WAIT, () -> !telemetry.duplicates.isEmpty());
    assertThat(telemetry.duplicates).containsExactly("STALE_REPLY slow");
  }

  record Written(SagaEvent event, SagaSnapshot.Started after) {}

  record RecordedAttempt(AttemptStart start, String traceparent, AttemptEnd end) {}

  /** Keeps what it is told; an attempt is kept once it has ended. */
  static final class RecordingTelemetry implements SagaTelemetry {
    final List<Written> written = new CopyOnWriteArrayList<>();
    final List<RecordedAttempt> attempts = new CopyOnWriteArrayList<>();
    final List<String> retries = new CopyOnWriteArrayList<>();
    final List<String> duplicates = new CopyOnWriteArrayList<>();

    @Override
    public void eventWritten(String sagaId, SagaEvent event, SagaSnapshot after) {
      written.add(new Written(event, (SagaSnapshot.Started) after));
    }

    @Override
    public Attempt attemptStarted(AttemptStart start) {
      Attempt untraced = Attempt.untraced(start);
      return new Attempt() {
        @Override
        public String traceparent() {
          return untraced.traceparent();
        }

        @Override
        public void ended(AttemptEnd end) {
          attempts.add(new RecordedAttempt(start, untraced.traceparent(), end));
        }
      };
    }

    @Override
    public void retryScheduled(
        String sagaType, Phase phase, String step, Duration delay, boolean retryAfter) {
      retries.add(sagaType + " " + phase + " " + step + " " + retryAfter);
    }

    @Override
    public void duplicate(Duplicate kind, String sagaType) {
      duplicates.add(kind + " " + sagaType);
    }
  }
}
