package io.sagaflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaReplies.Accepted;
import io.sagaflow.orchestrator.SagaReplies.Conflict;
import io.sagaflow.orchestrator.SagaReplies.Done;
import io.sagaflow.orchestrator.SagaReplies.Invalid;
import io.sagaflow.orchestrator.SagaReplies.OperatorReply;
import io.sagaflow.orchestrator.SagaReplies.Problem;
import io.sagaflow.orchestrator.SagaReplies.Refused;
import io.sagaflow.orchestrator.SagaReplies.StartReply;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepKey;
import io.sagaflow.orchestrator.dsl.StepRejectedException;
import io.sagaflow.orchestrator.history.Phase;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import io.sagaflow.orchestrator.internal.Outcome;
import io.sagaflow.orchestrator.internal.ParticipantClient;
import io.sagaflow.orchestrator.internal.StepRunner;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.ScriptedSteps;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.CommandResultWithReply;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every transition of the saga entity, on Pekko's in-memory persistence test kit with serialization
 * checks on. Steps are scripted local actions, so each test decides every attempt's outcome.
 */
class SagaEntityTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private static final ActorTestKit testKit =
      ActorTestKit.create(
          EventSourcedBehaviorTestKit.config()
              .withFallback(ConfigFactory.parseString("pekko.loglevel = INFO"))
              .withFallback(ConfigFactory.load()));
  private static final PersistenceTestKit journal = PersistenceTestKit.create(testKit.system());

  private final ScriptedSteps script = new ScriptedSteps();
  private final String sagaId = "saga-" + UUID.randomUUID();

  private final SagaDefinition<?> threeSteps =
      SagaDefinition.builder("three")
          .defaultRetry(
              r ->
                  r.maxAttempts(3)
                      .minBackoff(Duration.ofMillis(50))
                      .maxBackoff(Duration.ofMillis(200)))
          .compensationRetry(
              r ->
                  r.maxAttempts(2)
                      .minBackoff(Duration.ofMillis(20))
                      .maxBackoff(Duration.ofMillis(50)))
          .defaultTimeout(Duration.ofSeconds(30))
          .step(
              Step.named("s1")
                  .invoke(script.action("s1"))
                  .compensateWith(script.compensation("s1")))
          .step(
              Step.named("s2")
                  .invoke(script.action("s2"))
                  .compensateWith(script.compensation("s2")))
          .step(
              Step.named("s3")
                  .invoke(script.action("s3"))
                  .compensateWith(script.compensation("s3")))
          .build();

  private final SagaDefinition<?> withPivot =
      SagaDefinition.builder("trip")
          .defaultRetry(
              r ->
                  r.maxAttempts(2)
                      .minBackoff(Duration.ofMillis(20))
                      .maxBackoff(Duration.ofMillis(50)))
          .defaultTimeout(Duration.ofSeconds(30))
          .step(
              Step.named("reserve")
                  .invoke(script.action("reserve"))
                  .compensateWith(script.compensation("reserve")))
          .step(Step.named("charge").invoke(script.action("charge")).pivot())
          .step(Step.named("notify").invoke(script.action("notify")).retriable())
          .build();

  /** Like {@code trip}, with attempts of its own on the pivot and the step after it. */
  private final SagaDefinition<?> withBoundedPivot =
      SagaDefinition.builder("bounded")
          .defaultRetry(
              r ->
                  r.maxAttempts(5)
                      .minBackoff(Duration.ofMillis(20))
                      .maxBackoff(Duration.ofMillis(50)))
          .defaultTimeout(Duration.ofSeconds(30))
          .step(
              Step.named("reserve")
                  .invoke(script.action("reserve"))
                  .compensateWith(script.compensation("reserve")))
          .step(
              Step.named("charge")
                  .invoke(script.action("charge"))
                  .pivot()
                  .retry(r -> r.maxAttempts(3)))
          .step(
              Step.named("notify")
                  .invoke(script.action("notify"))
                  .retry(r -> r.maxAttempts(2))
                  .retriable())
          .build();

  private final SagaDefinition<?> withDeadline =
      SagaDefinition.builder("hurried")
          .deadline(Duration.ofSeconds(2))
          // Past the deadline: the call in flight then is still out when the deadline passes.
          .defaultTimeout(Duration.ofSeconds(4))
          .step(
              Step.named("first")
                  .invoke(script.action("first"))
                  .compensateWith(script.compensation("first")))
          .step(
              Step.named("second")
                  .invoke(script.action("second"))
                  .compensateWith(script.compensation("second")))
          .build();

  private final SagaDefinition<?> withShortTimeout =
      SagaDefinition.builder("slow")
          .defaultRetry(
              r ->
                  r.maxAttempts(3)
                      .minBackoff(Duration.ofMillis(10))
                      .maxBackoff(Duration.ofMillis(10)))
          .step(
              Step.named("only")
                  .invoke(script.action("only"))
                  .timeout(Duration.ofMillis(200))
                  .noCompensation())
          .build();

  private final SagaRegistry registry =
      SagaRegistry.of(threeSteps, withPivot, withBoundedPivot, withDeadline, withShortTimeout);

  @BeforeEach
  void clearJournal() {
    journal.clearAll();
  }

  /** Where local steps run, as the engine's bounded pool would run them. */
  private static final ExecutorService LOCAL_STEPS = Executors.newFixedThreadPool(4);

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
    LOCAL_STEPS.shutdownNow();
  }

  /** Two HTTP steps before a third, all answered by {@link #answers}. */
  private final SagaDefinition<?> overHttp =
      SagaDefinition.builder("remote")
          .defaultRetry(
              r ->
                  r.maxAttempts(3)
                      .minBackoff(Duration.ofMillis(20))
                      .maxBackoff(Duration.ofMillis(50)))
          .step(
              Step.named("reserve")
                  .invoke(HttpCall.post("inventory", "/reserve"))
                  .compensateWith(HttpCall.post("inventory", "/release")))
          .step(
              Step.named("charge")
                  .invoke(HttpCall.post("payments", "/charge"))
                  .compensateWith(HttpCall.post("payments", "/refund")))
          .step(Step.named("ship").invoke(HttpCall.post("shipping", "/ship")).noCompensation())
          .build();

  /** An HTTP pivot between a compensatable step and a retriable one. */
  private final SagaDefinition<?> pivotOverHttp =
      SagaDefinition.builder("remote-pivot")
          .step(
              Step.named("reserve")
                  .invoke(HttpCall.post("inventory", "/reserve"))
                  .compensateWith(HttpCall.post("inventory", "/release")))
          .step(Step.named("charge").invoke(HttpCall.post("payments", "/charge")).pivot())
          .step(Step.named("notify").invoke(HttpCall.post("notifications", "/send")).retriable())
          .build();

  /**
   * What the participant client answers a call to each path; others succeed. Every call's path is
   * recorded in {@link #httpCalls}.
   */
  private final Map<String, Outcome> answers = new ConcurrentHashMap<>();

  private final List<String> httpCalls = new CopyOnWriteArrayList<>();

  private final ParticipantClient scriptedHttp =
      request -> {
        httpCalls.add(request.path());
        Outcome ok = new Outcome.Succeeded(JsonNodeFactory.instance.objectNode().put("ok", true));
        return CompletableFuture.completedFuture(answers.getOrDefault(request.path(), ok));
      };

  private EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> entity(
      SagaRegistry reg) {
    ParticipantClient noHttp =
        request -> CompletableFuture.failedFuture(new AssertionError("no HTTP in this test"));
    return entity(reg, noHttp);
  }

  private EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> entity(
      SagaRegistry reg, ParticipantClient client) {
    return entity(reg, client, sagaId);
  }

  private EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> entity(
      SagaRegistry reg, ParticipantClient client, String id) {
    return entity(reg, client, id, LOCAL_STEPS);
  }

  private EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> entity(
      SagaRegistry reg, ParticipantClient client, String id, Executor localSteps) {
    var runner = new StepRunner(client, SagaEngine.objectMapper(testKit.system()), localSteps);
    return EventSourcedBehaviorTestKit.create(
        testKit.system(),
        SagaEntity.create(id, null, reg, runner),
        new EventSourcedBehaviorTestKit.SerializationSettings(true, true, true, true, true));
  }

  private EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> entity() {
    return entity(registry);
  }

  private static ObjectNode input(String key) {
    return JsonNodeFactory.instance.objectNode().put("key", key);
  }

  private CommandResultWithReply<SagaEntity.Command, SagaEvent, SagaSnapshot, StartReply> start(
      EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> kit,
      String type,
      JsonNode in) {
    return kit.runCommand(replyTo -> new SagaEntity.Start(type, null, in, replyTo));
  }

  private List<Object> events() {
    return journal.persistedInStorage("saga|" + sagaId);
  }

  private SagaSnapshot.Started awaitStatus(
      EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> kit,
      SagaStatus status) {
    return Eventually.await(
        "status " + status,
        WAIT,
        () -> kit.getState() instanceof SagaSnapshot.Started a && a.status() == status ? a : null);
  }

  private void awaitEvents(int n) {
    Eventually.until(n + " events", WAIT, () -> events().size() >= n);
  }

  @Test
  void startIsAcknowledgedOnlyWithSagaStartedWrittenAndCallsTheFirstStep() {
    var kit = entity();
    var result = start(kit, "three", input("a"));

    assertThat(result.events()).singleElement().isInstanceOf(SagaEvent.SagaStarted.class);
    var started = (SagaEvent.SagaStarted) result.event();
    assertThat(started.firstStep()).isEqualTo("s1");
    assertThat(started.fingerprint()).hasSize(64);
    assertThat(result.reply())
        .isInstanceOfSatisfying(
            Accepted.class,
            a -> {
              assertThat(a.created()).isTrue();
              assertThat(a.saga().status()).isEqualTo(SagaStatus.RUNNING);
              assertThat(a.saga().steps())
                  .extracting(SagaView.StepView::status)
                  .containsExactly(StepStatus.RUNNING, StepStatus.PENDING, StepStatus.PENDING);
            });
    assertThat(script.awaitAction("s1", 1).sagaId()).isEqualTo(sagaId);
  }

  @Test
  void happyThreeStepSagaCompletesInFourWrites() {
    var kit = entity();
    start(kit, "three", input("a"));
    script.awaitAction("s1", 1).succeed();
    script.awaitAction("s2", 1).succeed();
    script.awaitAction("s3", 1).succeed();

    var done = awaitStatus(kit, SagaStatus.COMPLETED);
    assertThat(events())
        .extracting(e -> e.getClass().getSimpleName())
        .containsExactly("SagaStarted", "StepSucceeded", "StepSucceeded", "SagaCompleted");
    assertThat(done.step("s3").output().get("step").asText()).isEqualTo("s3");
    assertThat(script.calls()).hasSize(3);
  }

  @Test
  void finishedSagaIsAnnouncedOnTheEventStreamOnce() {
    TestProbe<SagaFinished> finished = testKit.createTestProbe();
    testKit
        .system()
        .eventStream()
        .tell(
            new org.apache.pekko.actor.typed.eventstream.EventStream.Subscribe<>(
                SagaFinished.class, finished.ref()));
    var kit = entity();
    start(kit, "three", input("a"));
    script.awaitAction("s1", 1).succeed();
    script.awaitAction("s2", 1).succeed();
    script.awaitAction("s3", 1).succeed();

    var announced =
        finished.fishForMessage(
            WAIT,
            m ->
                m.sagaId().equals(sagaId)
                    ? org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes.complete()
                    : org.apache.pekko.actor.testkit.typed.javadsl.FishingOutcomes
                        .continueAndIgnore());
    assertThat(announced.get(0).status()).isEqualTo(SagaStatus.COMPLETED);
    kit.restart();
    finished.expectNoMessage(Duration.ofMillis(300));
  }

  @Test
  void sameStartTwiceReturnsTheExistingSagaWithoutWriting() {
    var kit = entity();
    start(kit, "three", input("a"));
    ObjectNode reordered = JsonNodeFactory.instance.objectNode().put("key", "a");

    var again = start(kit, "three", reordered);

    assertThat(again.hasNoEvents()).isTrue();
    assertThat(again.reply())
        .isInstanceOfSatisfying(Accepted.class, a -> assertThat(a.created()).isFalse());
  }

  @Test
  void sameIdWithAnotherInputOrTypeIsAConflict() {
    var kit = entity();
    start(kit, "three", input("a"));

    var otherInput = start(kit, "three", input("b"));
    var otherType = start(kit, "trip", input("a"));

    assertThat(otherInput.hasNoEvents()).isTrue();
    assertThat(otherInput.reply())
        .isInstanceOfSatisfying(
            Conflict.class, c -> assertThat(c.detail()).contains("different input"));
    assertThat(otherType.reply())
        .isInstanceOfSatisfying(
            Conflict.class, c -> assertThat(c.detail()).contains("type 'three'"));
  }

  @Test
  void unknownTypeOrVersionIsRejectedWithoutWriting() {
    var kit = entity();
    var unknown = start(kit, "nope", input("a"));
    var badVersion =
        kit.<StartReply>runCommand(
            replyTo -> new SagaEntity.Start("three", 7, input("a"), replyTo));

    assertThat(unknown.hasNoEvents()).isTrue();
    assertThat(unknown.reply())
        .isInstanceOfSatisfying(
            Invalid.class,
            i -> {
              assertThat(i.problem()).isEqualTo(Problem.UNKNOWN_TYPE);
              assertThat(i.detail()).contains("nope");
            });
    assertThat(badVersion.reply())
        .isInstanceOfSatisfying(
            Invalid.class, i -> assertThat(i.detail()).contains("no version 7"));
    assertThat(kit.getState()).isInstanceOf(SagaSnapshot.NotStarted.class);
  }

  record Order(String orderId, int quantity) {
    Order {
      if (quantity < 1) {
        throw new IllegalArgumentException("quantity must be at least 1");
      }
    }
  }

  @Test
  void inputThatDoesNotBindToTheInputTypeIsRejectedWithoutWriting() {
    var typed =
        SagaDefinition.builder("typed", Order.class)
            .step(Step.named("only").invoke(script.action("only")).noCompensation())
            .build();
    var kit = entity(SagaRegistry.of(typed));

    var wrong =
        start(
            kit,
            "typed",
            JsonNodeFactory.instance.objectNode().put("orderId", "o").put("quantity", 0));

    assertThat(wrong.hasNoEvents()).isTrue();
    assertThat(wrong.reply())
        .isInstanceOfSatisfying(
            Invalid.class,
            i -> {
              assertThat(i.problem()).isEqualTo(Problem.INVALID_INPUT);
              assertThat(i.detail()).contains("quantity must be at least 1");
            });
    assertThat(script.calls()).isEmpty();
  }

  @Test
  void retryableFailureIsRetriedAfterABackoffWithinThePolicy() {
    var kit = entity();
    start(kit, "three", input("a"));
    var first = script.awaitAction("s1", 1);
    first.fail(new IllegalStateException("flaky"));

    var second = script.awaitAction("s1", 2);
    awaitEvents(2);
    var failed = (SagaEvent.StepAttemptFailed) events().get(1);
    assertThat(failed.attempt()).isEqualTo(1);
    assertThat(failed.error()).contains("flaky");
    Duration planned = Duration.between(failed.at(), failed.retryAt());
    assertThat(planned).isBetween(Duration.ofMillis(40), Duration.ofMillis(50));
    assertThat(second.at()).isAfterOrEqualTo(failed.retryAt());
    second.succeed();
    Eventually.until("s2 invoked", WAIT, () -> script.count(c -> c.step().equals("s2")) == 1);
    assertThat(((SagaSnapshot.Started) kit.getState()).step("s1").attempts()).isEqualTo(2);
  }

  @Test
  void rejectedStepCompensatesEarlierStepsNewestFirstButNotItself() {
    var kit = entity();
    start(kit, "three", input("a"));
    script.awaitAction("s1", 1).succeed();
    script.awaitAction("s2", 1).succeed();
    script.awaitAction("s3", 1).fail(new StepRejectedException("out of stock"));
    script.awaitCompensation("s2", 1).succeed();
    script.awaitCompensation("s1", 1).succeed();

    var state = awaitStatus(kit, SagaStatus.COMPENSATED);
    var failed = (SagaEvent.StepFailed) events().get(3);
    assertThat(failed.uncertain()).isFalse();
    assertThat(failed.compensations()).containsExactly("s2", "s1");
    assertThat(state.step("s3").status()).isEqualTo(StepStatus.REJECTED);
    assertThat(state.failure()).contains("s3").contains("out of stock");
    assertThat(script.describe()).containsExactly("s1#1", "s2#1", "s3#1", "undo s2#1", "undo s1#1");
  }

  @Test
  void exhaustedRetriesLeaveTheStepUncertainAndCompensateItToo() {
    var kit = entity();
    start(kit, "three", input("a"));
    script.awaitAction("s1", 1).succeed();
    for (int attempt = 1; attempt <= 3; attempt++) {
      script.awaitAction("s2", attempt).fail(new IllegalStateException("503"));
    }
    script.awaitCompensation("s2", 1).succeed();
    script.awaitCompensation("s1", 1).succeed();

    var state = awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(state.step("s2").status()).isEqualTo(StepStatus.COMPENSATED);
    var failed =
        events().stream()
            .filter(SagaEvent.StepFailed.class::isInstance)
            .map(SagaEvent.StepFailed.class::cast)
            .findFirst()
            .orElseThrow();
    assertThat(failed.uncertain()).isTrue();
    assertThat(failed.compensations()).containsExactly("s2", "s1");
    assertThat(state.failure()).contains("gave no answer after 3 attempts");
  }

  @Test
  void compensationThatFailsThenSucceedsEndsCompensated() {
    var kit = entity();
    start(kit, "three", input("a"));
    script.awaitAction("s1", 1).succeed();
    script.awaitAction("s2", 1).fail(new StepRejectedException("no"));
    script.awaitCompensation("s1", 1).fail(new IllegalStateException("busy"));
    script.awaitCompensation("s1", 2).succeed();

    var state = awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(state.step("s1").compensationAttempts()).isEqualTo(2);
    assertThat(events())
        .extracting(e -> e.getClass().getSimpleName())
        .containsExactly(
            "SagaStarted",
            "StepSucceeded",
            "StepFailed",
            "CompensationAttemptFailed",
            "StepCompensated");
  }

  @Test
  void compensationThatExhaustsItsPolicyFailsAndResumeFinishesIt() {
    var kit = entity();
    start(kit, "three", input("a"));
    script.awaitAction("s1", 1).succeed();
    script.awaitAction("s2", 1).fail(new StepRejectedException("no"));
    script.awaitCompensation("s1", 1).fail(new IllegalStateException("down"));
    script.awaitCompensation("s1", 2).fail(new IllegalStateException("still down"));

    var failed = awaitStatus(kit, SagaStatus.FAILED);
    assertThat(failed.failure())
        .contains("compensation of step 's1' failed after 2 attempts")
        .contains("still down");
    assertThat(failed.step("s1").status()).isEqualTo(StepStatus.COMPENSATION_FAILED);

    var resumed = kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Resume("cmd-1", replyTo));
    assertThat(resumed.event()).isInstanceOf(SagaEvent.SagaResumed.class);
    assertThat(resumed.reply()).isInstanceOf(Done.class);
    script.awaitCompensation("s1", 3).succeed();
    awaitStatus(kit, SagaStatus.COMPENSATED);

    var repeated =
        kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Resume("cmd-1", replyTo));
    assertThat(repeated.hasNoEvents()).isTrue();
    assertThat(repeated.reply()).isInstanceOf(Done.class);
    var other = kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Resume("cmd-2", replyTo));
    assertThat(other.reply())
        .isInstanceOfSatisfying(
            Refused.class, r -> assertThat(r.detail()).contains("only a FAILED saga"));
  }

  @Test
  void rejectedCompensationFailsTheSagaAtOnce() {
    var kit = entity();
    start(kit, "three", input("a"));
    script.awaitAction("s1", 1).succeed();
    script.awaitAction("s2", 1).fail(new StepRejectedException("no"));
    script.awaitCompensation("s1", 1).fail(new StepRejectedException("cannot undo"));

    var failed = awaitStatus(kit, SagaStatus.FAILED);
    assertThat(failed.failure()).contains("was rejected").contains("cannot undo");
  }

  @Test
  void cancelBeforeThePivotCompensatesIncludingTheStepInFlight() {
    var kit = entity();
    start(kit, "three", input("a"));
    script.awaitAction("s1", 1).succeed();
    var inFlight = script.awaitAction("s2", 1);

    var cancel =
        kit.<OperatorReply>runCommand(
            replyTo -> new SagaEntity.Cancel("c-1", "customer changed mind", replyTo));

    assertThat(cancel.event())
        .isInstanceOfSatisfying(
            SagaEvent.CompensationStarted.class,
            c -> assertThat(c.compensations()).containsExactly("s2", "s1"));
    assertThat(cancel.reply()).isInstanceOf(Done.class);
    // The undo of s2 waits for s2's call in flight (it could otherwise reach the participant
    // first): nothing is compensated until that call has answered, and its answer changes nothing.
    assertThat(script.count(c -> c.compensation())).isZero();
    inFlight.succeed();
    script.awaitCompensation("s2", 1).succeed();
    script.awaitCompensation("s1", 1).succeed();
    var state = awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(state.failure()).isEqualTo("cancelled: customer changed mind");
    assertThat(script.count(c -> c.step().equals("s3"))).isZero();

    var again =
        kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Cancel("c-1", "again", replyTo));
    assertThat(again.hasNoEvents()).isTrue();
    assertThat(again.reply()).isInstanceOf(Done.class);
    var late =
        kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Cancel("c-2", "again", replyTo));
    assertThat(late.reply())
        .isInstanceOfSatisfying(Refused.class, r -> assertThat(r.detail()).contains("COMPENSATED"));
  }

  @Test
  void cancelWhileAStepIsInFlightLeavesItsCompensationOutWhenTheAwaitedCallIsRejected() {
    var kit = entity();
    start(kit, "three", input("a"));
    script.awaitAction("s1", 1).succeed();
    var inFlight = script.awaitAction("s2", 1);
    kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Cancel("c-1", "changed", replyTo));

    inFlight.fail(new StepRejectedException("out of stock"));
    script.awaitCompensation("s1", 1).succeed();
    var state = awaitStatus(kit, SagaStatus.COMPENSATED);

    assertThat(script.count(c -> c.compensation() && c.step().equals("s2"))).isZero();
    assertThat(events())
        .filteredOn(SagaEvent.CompensationSkipped.class::isInstance)
        .singleElement()
        .isInstanceOfSatisfying(
            SagaEvent.CompensationSkipped.class,
            e -> {
              assertThat(e.step()).isEqualTo("s2");
              assertThat(e.attempt()).isEqualTo(1);
              assertThat(e.error()).contains("out of stock");
              assertThat(e.sagaCompensated()).isFalse();
            });
    assertThat(state.step("s2").status()).isEqualTo(StepStatus.REJECTED);
    assertThat(state.step("s2").compensationAttempts()).isZero();
    assertThat(state.step("s1").status()).isEqualTo(StepStatus.COMPENSATED);
    assertThat(state.failure()).isEqualTo("cancelled: changed");
  }

  @Test
  void cancelOfTheFirstStepInFlightWhoseCallIsRejectedEndsCompensatedWithNothingUndone() {
    var kit = entity();
    start(kit, "three", input("a"));
    var inFlight = script.awaitAction("s1", 1);
    kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Cancel("c-1", null, replyTo));

    inFlight.fail(new StepRejectedException("no such customer"));
    var state = awaitStatus(kit, SagaStatus.COMPENSATED);

    assertThat(script.count(c -> c.compensation())).isZero();
    assertThat(events().get(events().size() - 1))
        .isInstanceOfSatisfying(
            SagaEvent.CompensationSkipped.class, e -> assertThat(e.sagaCompensated()).isTrue());
    assertThat(state.step("s1").status()).isEqualTo(StepStatus.REJECTED);
  }

  @Test
  void cancelWhileAStepIsInFlightStillUndoesItWhenTheAwaitedCallFailsRetryably() {
    var kit = entity();
    start(kit, "three", input("a"));
    var inFlight = script.awaitAction("s1", 1);
    kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Cancel("c-1", null, replyTo));

    // A 503 or a timeout: the call may have been applied, so it is undone as uncertain.
    inFlight.fail(new IllegalStateException("connection reset"));
    script.awaitCompensation("s1", 1).succeed();
    var state = awaitStatus(kit, SagaStatus.COMPENSATED);

    assertThat(events()).noneMatch(SagaEvent.CompensationSkipped.class::isInstance);
    assertThat(state.step("s1").status()).isEqualTo(StepStatus.COMPENSATED);
  }

  @Test
  void cancelAfterThePivotIsRefused() {
    var kit = entity();
    start(kit, "trip", input("a"));
    script.awaitAction("reserve", 1).succeed();
    script.awaitAction("charge", 1).succeed();
    script.awaitAction("notify", 1);

    var cancel =
        kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Cancel("c-1", "too late", replyTo));

    assertThat(cancel.hasNoEvents()).isTrue();
    assertThat(cancel.reply())
        .isInstanceOfSatisfying(
            Refused.class, r -> assertThat(r.detail()).contains("pivot step 'charge'"));
  }

  @Test
  void cancelWhileThePivotIsInFlightIsRefused() {
    var kit = entity();
    start(kit, "trip", input("a"));
    script.awaitAction("reserve", 1).succeed();
    var charge = script.awaitAction("charge", 1);

    var cancel =
        kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Cancel("c-1", "now", replyTo));

    assertThat(cancel.hasNoEvents()).isTrue();
    assertThat(cancel.reply())
        .isInstanceOfSatisfying(
            Refused.class, r -> assertThat(r.detail()).contains("reached its pivot step 'charge'"));
    charge.succeed();
    script.awaitAction("notify", 1).succeed();
    awaitStatus(kit, SagaStatus.COMPLETED);
  }

  @Test
  void pivotWithoutMaxAttemptsOfItsOwnIsRetriedBeyondTheDefinitionsDefault() {
    var kit = entity();
    start(kit, "trip", input("a"));
    script.awaitAction("reserve", 1).succeed();
    for (int attempt = 1; attempt <= 3; attempt++) {
      script.awaitAction("charge", attempt).fail(new IllegalStateException("gateway timeout"));
    }
    script.awaitAction("charge", 4).succeed();
    script.awaitAction("notify", 1).succeed();

    awaitStatus(kit, SagaStatus.COMPLETED);
    assertThat(script.count(ScriptedSteps.Call::compensation)).isZero();
  }

  @Test
  void retriableStepAfterThePivotIsRetriedUntilItSucceedsAndNeverCompensated() {
    var kit = entity();
    start(kit, "trip", input("a"));
    script.awaitAction("reserve", 1).succeed();
    script.awaitAction("charge", 1).succeed();
    script.awaitAction("notify", 1).fail(new IllegalStateException("timeout"));
    script.awaitAction("notify", 2).fail(new IllegalStateException("timeout"));
    script.awaitAction("notify", 3).fail(new IllegalStateException("timeout"));
    script.awaitAction("notify", 4).succeed();

    var state = awaitStatus(kit, SagaStatus.COMPLETED);
    assertThat(state.step("notify").attempts()).isEqualTo(4);
    assertThat(script.count(ScriptedSteps.Call::compensation)).isZero();
  }

  @Test
  void rejectedStepAfterThePivotFailsTheSagaForAnOperatorAndRetryResumesIt() {
    var kit = entity();
    start(kit, "trip", input("a"));
    script.awaitAction("reserve", 1).succeed();
    script.awaitAction("charge", 1).succeed();
    script.awaitAction("notify", 1).fail(new StepRejectedException("mail server says no"));

    var failed = awaitStatus(kit, SagaStatus.FAILED);
    assertThat(failed.failure())
        .isEqualTo(
            "step 'notify', after the pivot, was rejected at attempt 1:"
                + " StepRejectedException: mail server says no");
    assertThat(failed.step("notify").status()).isEqualTo(StepStatus.REJECTED);
    assertThat(failed.cursor().phase()).isEqualTo(Phase.FORWARD);
    assertThat(events().get(events().size() - 1))
        .isInstanceOfSatisfying(
            SagaEvent.StepFailedAfterPivot.class,
            e -> {
              assertThat(e.step()).isEqualTo("notify");
              assertThat(e.uncertain()).isFalse();
            });
    // FAILED is written and acted on before the state is read: nothing more is called.
    assertThat(script.describe()).containsExactly("reserve#1", "charge#1", "notify#1");
    var cancel =
        kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Cancel("c-1", "undo", replyTo));
    assertThat(cancel.reply()).isInstanceOf(Refused.class);

    var resumed = kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Resume("r-1", replyTo));
    assertThat(resumed.reply())
        .isInstanceOfSatisfying(
            Done.class, d -> assertThat(d.saga().status()).isEqualTo(SagaStatus.RUNNING));
    script.awaitAction("notify", 2).succeed();

    var state = awaitStatus(kit, SagaStatus.COMPLETED);
    assertThat(state.step("notify").attempts()).isEqualTo(2);
    assertThat(script.count(ScriptedSteps.Call::compensation)).isZero();
  }

  @Test
  void pivotOutOfItsOwnAttemptsFailsTheSagaWithoutCompensatingAndRetryResumesIt() {
    var kit = entity();
    start(kit, "bounded", input("a"));
    script.awaitAction("reserve", 1).succeed();
    for (int attempt = 1; attempt <= 3; attempt++) {
      script.awaitAction("charge", attempt).fail(new IllegalStateException("gateway timeout"));
    }

    var failed = awaitStatus(kit, SagaStatus.FAILED);
    assertThat(failed.failure())
        .isEqualTo(
            "pivot step 'charge' gave no answer after 3 attempts:"
                + " IllegalStateException: gateway timeout");
    assertThat(failed.step("charge").status()).isEqualTo(StepStatus.UNCERTAIN);
    assertThat(failed.step("reserve").status()).isEqualTo(StepStatus.SUCCEEDED);
    assertThat(events().get(events().size() - 1))
        .isInstanceOfSatisfying(
            SagaEvent.StepFailedAfterPivot.class, e -> assertThat(e.uncertain()).isTrue());
    // The charge may have gone through: undoing the reservation before it would be wrong.
    assertThat(script.describe()).containsExactly("reserve#1", "charge#1", "charge#2", "charge#3");

    kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Resume("r-1", replyTo));
    script.awaitAction("charge", 4).succeed();
    script.awaitAction("notify", 1).succeed();

    awaitStatus(kit, SagaStatus.COMPLETED);
    assertThat(script.count(ScriptedSteps.Call::compensation)).isZero();
  }

  @Test
  void retriableStepOutOfItsOwnAttemptsFailsTheSagaAndEachRetryHasAFreshBudget() {
    var kit = entity();
    start(kit, "bounded", input("a"));
    script.awaitAction("reserve", 1).succeed();
    script.awaitAction("charge", 1).succeed();
    script.awaitAction("notify", 1).fail(new IllegalStateException("mail down"));
    script.awaitAction("notify", 2).fail(new IllegalStateException("mail down"));
    var failed = awaitStatus(kit, SagaStatus.FAILED);
    assertThat(failed.failure())
        .isEqualTo(
            "step 'notify', after the pivot, gave no answer after 2 attempts:"
                + " IllegalStateException: mail down");

    kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Resume("r-1", replyTo));
    script.awaitAction("notify", 3).fail(new IllegalStateException("still down"));
    script.awaitAction("notify", 4).fail(new IllegalStateException("still down"));
    Eventually.until(
        "failed again",
        WAIT,
        () -> events().get(events().size() - 1) instanceof SagaEvent.StepFailedAfterPivot);
    var again = awaitStatus(kit, SagaStatus.FAILED);
    assertThat(again.failure()).contains("after 2 attempts").contains("still down");
    assertThat(again.step("notify").attempts()).isEqualTo(4);

    kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Resume("r-2", replyTo));
    script.awaitAction("notify", 5).succeed();
    awaitStatus(kit, SagaStatus.COMPLETED);
    assertThat(script.count(ScriptedSteps.Call::compensation)).isZero();
  }

  private static final Outcome.Unreadable OVERSIZED =
      new Outcome.Unreadable(
          "payments POST /charge",
          "answered 200 but its body could not be read: over 1048576 bytes");

  @Test
  void twoHundredWhoseBodyCannotBeReadIsUncertainAndCompensatedWithoutARetry() {
    answers.put("/charge", OVERSIZED);
    var kit = entity(SagaRegistry.of(overHttp), scriptedHttp);
    start(kit, "remote", input("a"));

    var state = awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(state.failure())
        .isEqualTo("step 'charge' answered 200 but its body could not be read: over 1048576 bytes");
    var failed = (SagaEvent.StepFailed) events().get(2);
    assertThat(failed.uncertain()).isTrue();
    assertThat(failed.attempt()).isEqualTo(1);
    assertThat(failed.error())
        .isEqualTo(
            "payments POST /charge answered 200 but its body could not be read: over 1048576"
                + " bytes");
    assertThat(failed.compensations()).containsExactly("charge", "reserve");
    // The participant applied the charge: it is refunded, and never asked again.
    assertThat(httpCalls).containsExactly("/reserve", "/charge", "/refund", "/release");
    assertThat(state.step("charge").status()).isEqualTo(StepStatus.COMPENSATED);
  }

  /** A result Jackson cannot convert to JSON: reading its one property fails. */
  static final class Unconvertible {
    public String getValue() {
      throw new IllegalStateException("no value");
    }
  }

  @Test
  void localActionWhoseResultDoesNotConvertToJsonIsUncertainAndNotRunAgain() {
    var kit = entity();
    start(kit, "three", input("a"));
    script.awaitAction("s1", 1).succeed();
    script.awaitAction("s2", 1).result().complete(new Unconvertible());
    script.awaitCompensation("s2", 1).succeed();
    script.awaitCompensation("s1", 1).succeed();

    var state = awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(state.failure())
        .startsWith("step 's2' completed but its result could not be read: ")
        .contains("no value");
    assertThat(((SagaEvent.StepFailed) events().get(2)).uncertain()).isTrue();
    assertThat(script.describe()).containsExactly("s1#1", "s2#1", "undo s2#1", "undo s1#1");
  }

  @Test
  void compensationWhose2xxCannotBeReadIsCompensatedAndSaysWhy() {
    answers.put("/charge", new Outcome.Permanent("payments POST /charge answered 402"));
    answers.put(
        "/release",
        new Outcome.Unreadable(
            "inventory POST /release",
            "answered 200 but its body could not be read: not valid JSON (Unexpected end-of-input)"));
    var kit = entity(SagaRegistry.of(overHttp), scriptedHttp);
    start(kit, "remote", input("a"));

    var state = awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(state.step("reserve").status()).isEqualTo(StepStatus.COMPENSATED);
    assertThat(state.step("reserve").lastError())
        .isEqualTo(
            "inventory POST /release answered 200 but its body could not be read: not valid JSON"
                + " (Unexpected end-of-input)");
    assertThat(state.failure()).contains("step 'charge' was rejected");
    assertThat(events().get(events().size() - 1))
        .isInstanceOfSatisfying(
            SagaEvent.StepCompensated.class,
            e -> {
              assertThat(e.sagaCompensated()).isTrue();
              assertThat(e.unreadable()).contains("not valid JSON");
            });
    assertThat(httpCalls).containsExactly("/reserve", "/charge", "/release");
  }

  @Test
  void pivotWhose2xxCannotBeReadFailsTheSagaWithoutCompensatingAnything() {
    answers.put("/charge", OVERSIZED);
    var kit = entity(SagaRegistry.of(pivotOverHttp), scriptedHttp);
    start(kit, "remote-pivot", input("a"));

    var failed = awaitStatus(kit, SagaStatus.FAILED);
    assertThat(failed.failure())
        .isEqualTo(
            "pivot step 'charge' answered 200 but its body could not be read: over 1048576 bytes"
                + " (attempt 1)");
    assertThat(failed.step("charge").status()).isEqualTo(StepStatus.UNCERTAIN);
    assertThat(httpCalls).containsExactly("/reserve", "/charge");

    answers.remove("/charge");
    kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Resume("r-1", replyTo));
    awaitStatus(kit, SagaStatus.COMPLETED);
    assertThat(httpCalls).containsExactly("/reserve", "/charge", "/charge", "/send");
  }

  @Test
  void failingPivotCompensatesTheStepsBeforeIt() {
    var kit = entity();
    start(kit, "trip", input("a"));
    script.awaitAction("reserve", 1).succeed();
    script.awaitAction("charge", 1).fail(new StepRejectedException("card declined"));
    script.awaitCompensation("reserve", 1).succeed();

    awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(script.count(c -> c.step().equals("notify"))).isZero();
  }

  @Test
  void deadlinePassingBeforeThePivotCompensates() {
    var kit = entity();
    start(kit, "hurried", input("a"));
    script.awaitAction("first", 1).succeed();
    var second = script.awaitAction("second", 1); // never answers

    // The undo of "second" waits for its call in flight, which times out 4 s after it began.
    script.awaitCompensation("second", 1).succeed();
    assertThat(script.awaitCompensation("second", 1).at())
        .isAfterOrEqualTo(second.at().plus(Duration.ofSeconds(4)));
    script.awaitCompensation("first", 1).succeed();
    var state = awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(state.failure()).startsWith("deadline passed");
    var compensation =
        events().stream()
            .filter(SagaEvent.CompensationStarted.class::isInstance)
            .map(SagaEvent.CompensationStarted.class::cast)
            .findFirst()
            .orElseThrow();
    assertThat(compensation.at()).isAfterOrEqualTo(state.deadline());
  }

  /** A client whose calls wait until the test answers them, in {@link #heldCalls}. */
  private final List<CompletableFuture<Outcome>> heldCalls = new CopyOnWriteArrayList<>();

  private final ParticipantClient holdingHttp =
      request -> {
        var answer = new CompletableFuture<Outcome>();
        heldCalls.add(answer);
        return answer;
      };

  private final SagaDefinition<?> slowOverHttp =
      SagaDefinition.builder("slow-http")
          .defaultRetry(
              r ->
                  r.maxAttempts(3)
                      .minBackoff(Duration.ofMillis(10))
                      .maxBackoff(Duration.ofMillis(10)))
          .step(
              Step.named("only")
                  .invoke(HttpCall.post("inventory", "/reserve"))
                  .noCompensation()
                  .timeout(Duration.ofMillis(200)))
          .build();

  private static Outcome.Succeeded answered(int attempt) {
    return new Outcome.Succeeded(JsonNodeFactory.instance.objectNode().put("attempt", attempt));
  }

  @Test
  void lateReplyFromATimedOutHttpAttemptChangesNothing() {
    var kit = entity(SagaRegistry.of(slowOverHttp), holdingHttp);
    start(kit, "slow-http", input("a"));
    Eventually.until(
        "attempt 1 timed out and attempt 2 went out", WAIT, () -> heldCalls.size() == 2);
    awaitEvents(2);
    assertThat(((SagaEvent.StepAttemptFailed) events().get(1)).error()).contains("timed out");

    heldCalls.get(0).complete(answered(1));
    // The entity handles messages in order: once it has answered this Get, it has seen the late
    // reply.
    var state = (SagaSnapshot.Started) kit.getState();
    assertThat(state.status()).isEqualTo(SagaStatus.RUNNING);
    assertThat(events()).hasSize(2);

    heldCalls.get(1).complete(answered(2));
    var done = awaitStatus(kit, SagaStatus.COMPLETED);
    assertThat(((SagaEvent.SagaCompleted) events().get(2)).attempt()).isEqualTo(2);
    assertThat(done.step("only").output().get("attempt").asInt()).isEqualTo(2);
  }

  @Test
  void localStepStillRunningAtItsTimeoutIsUncertainAndNeverRunBesideItself() {
    var kit = entity();
    start(kit, "slow", input("a"));
    var first = script.awaitAction("only", 1); // answers only after its 200 ms timeout

    var state = awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(state.failure())
        .isEqualTo("step 'only' was still running when its timeout (PT0.2S) passed");
    assertThat(((SagaEvent.StepFailed) events().get(1)).uncertain()).isTrue();
    assertThat(state.step("only").status()).isEqualTo(StepStatus.UNCERTAIN);

    first.succeed();
    var after = (SagaSnapshot.Started) kit.getState();
    assertThat(after.status()).isEqualTo(SagaStatus.COMPENSATED);
    assertThat(events()).hasSize(2);
    assertThat(script.count(c -> c.step().equals("only"))).isEqualTo(1);
  }

  /** What a blocking local step does: holds its thread until {@code release} (at most a minute). */
  private static String blockUntil(CountDownLatch release) {
    try {
      return release.await(1, TimeUnit.MINUTES) ? "released" : "gave up";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Test
  void aBlockingLocalStepHoldsUpNeitherItsOwnSagaNorAnotherAndItsTimeoutBoundsIt()
      throws Exception {
    var blocked = new CountDownLatch(1);
    var release = new CountDownLatch(1);
    var blocking =
        SagaDefinition.builder("blocking")
            .step(
                Step.named("wait")
                    .invoke(
                        LocalCall.of(
                            ctx -> {
                              blocked.countDown();
                              return blockUntil(release);
                            }))
                    .noCompensation()
                    .timeout(Duration.ofMillis(300)))
            .build();
    var quick =
        SagaDefinition.builder("quick")
            .step(Step.named("only").invoke(LocalCall.of(ctx -> "ok")).noCompensation())
            .build();
    var reg = SagaRegistry.of(blocking, quick);
    try {
      var kit = entity(reg);
      // The start is answered, and the saga answers while its step blocks: the step does not run
      // on the saga's thread.
      assertThat(start(kit, "blocking", input("a")).reply()).isInstanceOf(Accepted.class);
      assertThat(blocked.await(10, TimeUnit.SECONDS)).isTrue();
      var timedOut = awaitStatus(kit, SagaStatus.COMPENSATED);
      assertThat(timedOut.failure()).contains("was still running when its timeout (PT0.3S)");
      assertThat(release.getCount()).as("the step still blocks").isEqualTo(1);

      var other = entity(reg, scriptedHttp, "saga-" + UUID.randomUUID());
      start(other, "quick", input("b"));
      Eventually.until(
          "another saga on the node completes meanwhile",
          WAIT,
          () ->
              other.getState() instanceof SagaSnapshot.Started s
                  && s.status() == SagaStatus.COMPLETED);
      assertThat(release.getCount()).isEqualTo(1);
    } finally {
      release.countDown();
    }
  }

  @Test
  void aLocalStepStillQueuedForAThreadAtItsTimeoutNeverRunsAndIsRetried() throws Exception {
    var release = new CountDownLatch(1);
    var queuedRuns = new AtomicInteger();
    var occupier =
        SagaDefinition.builder("occupier")
            .step(
                Step.named("hold")
                    .invoke(LocalCall.of(ctx -> blockUntil(release)))
                    .noCompensation()
                    .timeout(Duration.ofSeconds(30)))
            .build();
    var queued =
        SagaDefinition.builder("queued")
            .defaultRetry(
                r ->
                    r.maxAttempts(3)
                        .minBackoff(Duration.ofMillis(50))
                        .maxBackoff(Duration.ofMillis(50)))
            .step(
                Step.named("only")
                    .invoke(LocalCall.of(ctx -> queuedRuns.incrementAndGet()))
                    .noCompensation()
                    .timeout(Duration.ofMillis(300)))
            .build();
    var reg = SagaRegistry.of(occupier, queued);
    ExecutorService oneThread = Executors.newSingleThreadExecutor();
    try {
      var first = entity(reg, scriptedHttp, "saga-" + UUID.randomUUID(), oneThread);
      start(first, "occupier", input("a"));
      var kit = entity(reg, scriptedHttp, sagaId, oneThread);
      start(kit, "queued", input("b"));

      awaitEvents(2);
      assertThat(((SagaEvent.StepAttemptFailed) events().get(1)).error())
          .isEqualTo("attempt 1 waited PT0.3S for a free local-step thread and never ran");
      release.countDown();
      var done = awaitStatus(kit, SagaStatus.COMPLETED);
      assertThat(queuedRuns.get()).as("only the attempt that got a thread ran").isEqualTo(1);
      assertThat(done.step("only").attempts()).isGreaterThan(1);
    } finally {
      release.countDown();
      oneThread.shutdownNow();
    }
  }

  @Test
  void aNonBlockingLocalStepRunsOnTheSagasThreadAndNeverAsksTheLocalStepPool() {
    var poolAsked = new AtomicInteger();
    Executor refusingPool =
        task -> {
          poolAsked.incrementAndGet();
          throw new java.util.concurrent.RejectedExecutionException("no pool in this test");
        };
    var ranOn = new CopyOnWriteArrayList<String>();
    var inline =
        SagaDefinition.builder("inline")
            .step(
                Step.named("price")
                    .invoke(
                        LocalCall.nonBlocking(
                            ctx -> {
                              ranOn.add(Thread.currentThread().getName());
                              return Map.of("price", 12);
                            }))
                    .compensateWith(LocalCall.nonBlocking(ctx -> "unpriced")))
            .step(
                Step.named("confirm")
                    // Asynchronous work, started on the saga's thread, ends on another.
                    .invoke(
                        LocalCall.nonBlocking(
                            ctx ->
                                CompletableFuture.supplyAsync(
                                    () -> Map.of("confirmed", ctx.output("price").get("price")),
                                    CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS))))
                    .noCompensation())
            .build();
    var kit = entity(SagaRegistry.of(inline), scriptedHttp, sagaId, refusingPool);

    start(kit, "inline", input("a"));

    var done = awaitStatus(kit, SagaStatus.COMPLETED);
    assertThat(done.step("confirm").output().get("confirmed").asInt()).isEqualTo(12);
    assertThat(poolAsked.get()).as("calls handed to the local-step pool").isZero();
    assertThat(ranOn).hasSize(1);
    assertThat(LocalCall.nonBlocking(ctx -> 1)).hasToString("LocalCall (non-blocking)");
  }

  @Test
  void aNonBlockingLocalStepThatRejectsIsCompensatedLikeAnyOther() {
    var undone = new AtomicInteger();
    var rejecting =
        SagaDefinition.builder("inline-rejects")
            .step(
                Step.named("reserve")
                    .invoke(LocalCall.nonBlocking(ctx -> Map.of("id", "r-1")))
                    .compensateWith(LocalCall.nonBlocking(ctx -> undone.incrementAndGet())))
            .step(
                Step.named("charge")
                    .invoke(
                        LocalCall.nonBlocking(
                            ctx -> {
                              throw new StepRejectedException("card declined");
                            }))
                    .noCompensation())
            .build();
    var kit = entity(SagaRegistry.of(rejecting));

    start(kit, "inline-rejects", input("b"));

    var done = awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(undone.get()).isEqualTo(1);
    assertThat(done.step("charge").lastError()).contains("card declined");
  }

  @Test
  void aTypedSagaReadsItsInputAndEarlierOutputsAsTheirTypes() {
    StepKey<Reserved> reserve = StepKey.of("reserve", Reserved.class);
    var seen = new CopyOnWriteArrayList<String>();
    var typed =
        SagaDefinition.builder("typed-flow", Order.class)
            .step(
                reserve,
                step ->
                    step.invoke(
                            LocalCall.of(
                                ctx ->
                                    new Reserved(
                                        "r-" + ctx.input().orderId(), ctx.input().quantity())))
                        .compensateWith(LocalCall.of(ctx -> "released")))
            .step(
                "ship",
                step ->
                    step.invoke(
                            LocalCall.of(
                                ctx -> {
                                  Reserved r = ctx.output(reserve);
                                  seen.add(
                                      r.id()
                                          + " x"
                                          + r.quantity()
                                          + " for "
                                          + ctx.input().orderId());
                                  return Map.of("shipped", r.id());
                                }))
                        .noCompensation())
            .build();
    var kit = entity(SagaRegistry.of(typed));

    start(
        kit,
        "typed-flow",
        JsonNodeFactory.instance.objectNode().put("orderId", "o-7").put("quantity", 3));

    var done = awaitStatus(kit, SagaStatus.COMPLETED);
    assertThat(seen).containsExactly("r-o-7 x3 for o-7");
    assertThat(done.step("reserve").output().get("id").asText()).isEqualTo("r-o-7");
    assertThat(done.step("ship").output().get("shipped").asText()).isEqualTo("r-o-7");
  }

  @Test
  void anOutputThatDoesNotBindToItsKeysTypeIsUncertainAndCompensated() {
    StepKey<Reserved> reserve = StepKey.of("reserve", Reserved.class);
    var typed =
        SagaDefinition.builder("typed-mismatch", Order.class)
            .step(
                reserve,
                step ->
                    step.invoke(LocalCall.of(ctx -> Map.of("quantity", "many")))
                        .compensateWith(script.compensation("reserve")))
            .build();
    var kit = entity(SagaRegistry.of(typed));

    start(
        kit,
        "typed-mismatch",
        JsonNodeFactory.instance.objectNode().put("orderId", "o-8").put("quantity", 1));
    script.awaitCompensation("reserve", 1).succeed();

    var state = awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(state.failure())
        .startsWith("step 'reserve' answered, but its output does not bind to Reserved: ");
    assertThat(state.step("reserve").status()).isEqualTo(StepStatus.COMPENSATED);
  }

  record Reserved(String id, int quantity) {}

  @Test
  void aWakeWithAReplyAddressIsAnsweredOnceTheSagaIsInMemory() {
    var kit = entity();
    assertThat(kit.<org.apache.pekko.Done>runCommand(SagaEntity.Wake::new).reply())
        .as("a saga that was never started")
        .isEqualTo(org.apache.pekko.Done.getInstance());

    start(kit, "three", input("a"));
    kit.restart();
    var woken = kit.<org.apache.pekko.Done>runCommand(SagaEntity.Wake::new);

    assertThat(woken.reply()).isEqualTo(org.apache.pekko.Done.getInstance());
    assertThat(woken.hasNoEvents()).isTrue();
    script.awaitAction("s1", 1);
  }

  @Test
  void journalWriteFailureMeansNoCallAndNoAcknowledgement() {
    var runner =
        new StepRunner(
            r -> CompletableFuture.failedFuture(new AssertionError()),
            SagaEngine.objectMapper(testKit.system()),
            ForkJoinPool.commonPool());
    var actor = testKit.spawn(SagaEntity.create(sagaId, null, registry, runner));
    TestProbe<StartReply> probe = testKit.createTestProbe();
    journal.failNextPersisted();

    actor.tell(new SagaEntity.Start("three", null, input("a"), probe.ref()));

    probe.expectNoMessage(Duration.ofMillis(500));
    assertThat(script.calls()).isEmpty();
    assertThat(events()).isEmpty();
    // The entity restarted after the failure and takes the retried start.
    Eventually.until(
        "start accepted after restart",
        WAIT,
        () -> {
          actor.tell(new SagaEntity.Start("three", null, input("a"), probe.ref()));
          return probe.receiveMessage(Duration.ofSeconds(1)) instanceof Accepted;
        });
    script.awaitAction("s1", 1);
  }

  @Test
  void backoffContinuesFromItsPersistedDueTimeAfterRestart() {
    var kit = entity(SagaRegistry.of(patientSaga()));
    Instant due = firstAttemptFailed(kit);

    kit.restart();

    var retried = script.awaitAction("only", 2);
    assertThat(retried.at()).isAfterOrEqualTo(due).isBefore(due.plusMillis(900));
  }

  @Test
  void retryTimerThatFiresBeforeTheDueTimeWaitsForIt() {
    var kit = entity(SagaRegistry.of(patientSaga()));
    Instant due = firstAttemptFailed(kit);

    // What the scheduler sends when it fires the retry timer, here well before the due time.
    kit.runCommand(new SagaEntity.RetryDue(Phase.FORWARD, "only", 2));

    assertThat(script.calls()).hasSize(1);
    var retried = script.awaitAction("only", 2);
    assertThat(retried.at()).isAfterOrEqualTo(due);
  }

  /** One step, retried once after a 1 s backoff. */
  private SagaDefinition<?> patientSaga() {
    return SagaDefinition.builder("patient")
        .defaultRetry(
            r -> r.minBackoff(Duration.ofSeconds(1)).maxBackoff(Duration.ofSeconds(1)).jitter(0))
        .step(Step.named("only").invoke(script.action("only")).noCompensation())
        .build();
  }

  /** Starts the patient saga, fails its first attempt, and returns when the retry is due. */
  private Instant firstAttemptFailed(
      EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> kit) {
    start(kit, "patient", input("a"));
    script.awaitAction("only", 1).fail(new IllegalStateException("busy"));
    awaitEvents(2);
    return ((SagaEvent.StepAttemptFailed) events().get(1)).retryAt();
  }

  @Test
  void stepInFlightIsCalledAgainAfterRestartWithTheSameAttempt() {
    var kit = entity();
    start(kit, "three", input("a"));
    script.awaitAction("s1", 1);

    kit.restart();

    assertThat(script.await(c -> c.step().equals("s1"), 2, WAIT).attempt()).isEqualTo(1);
  }

  @Test
  void sagaWhoseDefinitionVersionIsGoneAtRecoveryFailsWithAReason() {
    var kit = entity();
    start(kit, "three", input("a"));
    script.awaitAction("s1", 1);
    var v2 =
        SagaDefinition.builder("three")
            .version(2)
            .step(Step.named("x").invoke(script.action("x")).noCompensation())
            .build();

    var runner =
        new StepRunner(
            r -> CompletableFuture.failedFuture(new AssertionError()),
            SagaEngine.objectMapper(testKit.system()),
            ForkJoinPool.commonPool());
    var recovered = testKit.spawn(SagaEntity.create(sagaId, null, SagaRegistry.of(v2), runner));

    Eventually.until(
        "SagaFailed written",
        WAIT,
        () -> events().get(events().size() - 1) instanceof SagaEvent.SagaFailed);
    TestProbe<SagaReplies.GetReply> probe = testKit.createTestProbe();
    recovered.tell(new SagaEntity.Get(probe.ref()));
    var view = ((SagaReplies.Found) probe.receiveMessage()).saga();
    assertThat(view.status()).isEqualTo(SagaStatus.FAILED);
    assertThat(view.failure()).contains("version 1 is not registered").contains("[2]");
  }

  @Test
  void getReportsEveryStepOfTheDefinition() {
    var kit = entity();
    start(kit, "three", input("a"));
    script.awaitAction("s1", 1).succeed();
    script.awaitAction("s2", 1);

    var reply = kit.<SagaReplies.GetReply>runCommand(SagaEntity.Get::new).reply();

    assertThat(reply)
        .isInstanceOfSatisfying(
            SagaReplies.Found.class,
            f -> {
              assertThat(f.saga().id()).isEqualTo(sagaId);
              assertThat(f.saga().steps())
                  .extracting(SagaView.StepView::name, SagaView.StepView::status)
                  .containsExactly(
                      org.assertj.core.groups.Tuple.tuple("s1", StepStatus.SUCCEEDED),
                      org.assertj.core.groups.Tuple.tuple("s2", StepStatus.RUNNING),
                      org.assertj.core.groups.Tuple.tuple("s3", StepStatus.PENDING));
            });
  }
}
