package io.sagaflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaReplies.OperatorReply;
import io.sagaflow.orchestrator.dsl.AwaitSignal;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import io.sagaflow.orchestrator.internal.ParticipantClient;
import io.sagaflow.orchestrator.internal.StepRunner;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.ScriptedSteps;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Steps that wait for a signal, on Pekko's in-memory persistence test kit with serialization checks
 * on: a signal taken when it comes, one kept until the saga reaches its step, a rule that rejects,
 * a condition that skips the wait, the timeout, cancel while waiting, and what is refused.
 */
class SagaEntitySignalTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private static final ActorTestKit testKit =
      ActorTestKit.create(
          EventSourcedBehaviorTestKit.config()
              .withFallback(ConfigFactory.parseString("pekko.loglevel = INFO"))
              .withFallback(ConfigFactory.load()));
  private static final PersistenceTestKit journal = PersistenceTestKit.create(testKit.system());
  private static final ExecutorService LOCAL_STEPS = Executors.newFixedThreadPool(4);

  private final ScriptedSteps script = new ScriptedSteps();
  private final String sagaId = "saga-" + UUID.randomUUID();

  /** The approval's payload. */
  record Approval(boolean approved, String by) {}

  /** reserve, then (over 100 only) wait for approval, then charge. */
  private final SagaDefinition<?> approved =
      SagaDefinition.builder("approved")
          .defaultTimeout(Duration.ofSeconds(30))
          .step(
              Step.named("reserve")
                  .invoke(script.action("reserve"))
                  .compensateWith(script.compensation("reserve")))
          .step(
              Step.named("approval")
                  .awaitSignal(
                      AwaitSignal.<Object>named("approval")
                          .onlyIf(ctx -> ctx.inputJson().path("amount").asInt() > 100)
                          .rejectIf(
                              Approval.class, a -> !a.approved(), a -> "refused by " + a.by()))
                  .timeout(Duration.ofMillis(600)))
          .step(Step.named("charge").invoke(script.action("charge")).noCompensation())
          .build();

  private final SagaRegistry registry = SagaRegistry.of(approved);

  @BeforeEach
  void clearJournal() {
    journal.clearAll();
  }

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
    LOCAL_STEPS.shutdownNow();
  }

  private EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> entity() {
    ParticipantClient noHttp =
        request -> CompletableFuture.failedFuture(new AssertionError("no HTTP in this test"));
    var runner = new StepRunner(noHttp, SagaEngine.objectMapper(testKit.system()), LOCAL_STEPS);
    return EventSourcedBehaviorTestKit.create(
        testKit.system(),
        SagaEntity.create(sagaId, null, registry, runner),
        new EventSourcedBehaviorTestKit.SerializationSettings(true, true, true, true, true));
  }

  private static ObjectNode input(int amount) {
    return JsonNodeFactory.instance.objectNode().put("amount", amount);
  }

  private static JsonNode approval(boolean approved) {
    return JsonNodeFactory.instance.objectNode().put("approved", approved).put("by", "ana");
  }

  private void start(
      EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> kit, int amount) {
    kit.<SagaReplies.StartReply>runCommand(
        replyTo -> new SagaEntity.Start("approved", null, input(amount), replyTo));
  }

  private OperatorReply signal(
      EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> kit,
      String name,
      JsonNode payload,
      String key) {
    return kit.<OperatorReply>runCommand(
            replyTo -> new SagaEntity.Signal(name, payload, key, replyTo))
        .reply();
  }

  private List<String> eventNames() {
    return journal.persistedInStorage("saga|" + sagaId).stream()
        .map(e -> e.getClass().getSimpleName())
        .toList();
  }

  private SagaSnapshot.Started awaitStatus(
      EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> kit,
      SagaStatus status) {
    return Eventually.await(
        "status " + status + " (events " + eventNames() + ")",
        WAIT,
        () -> kit.getState() instanceof SagaSnapshot.Started a && a.status() == status ? a : null);
  }

  private SagaView view(
      EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> kit) {
    return SagaView.of(
        sagaId, (SagaSnapshot.Started) kit.getState(), registry.find("approved", null));
  }

  private void awaitWaiting(
      EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> kit) {
    Eventually.until("waiting for the approval", WAIT, () -> view(kit).waitingFor() != null);
  }

  @Test
  void aSignalThatComesWhileTheSagaWaitsBecomesTheStepsOutput() {
    var kit = entity();
    start(kit, 500);
    script.awaitAction("reserve", 1).succeed();
    awaitWaiting(kit);
    SagaView waiting = view(kit);
    assertThat(waiting.waitingFor().signal()).isEqualTo("approval");
    assertThat(waiting.waitingFor().step()).isEqualTo("approval");
    assertThat(waiting.waitingFor().timeoutAt())
        .isEqualTo(waiting.waitingFor().since().plusMillis(600));
    assertThat(script.count(c -> c.step().equals("charge"))).isZero();

    assertThat(signal(kit, "approval", approval(true), "sig-1"))
        .isInstanceOf(SagaReplies.Done.class);
    script.awaitAction("charge", 1).succeed();

    var done = awaitStatus(kit, SagaStatus.COMPLETED);
    assertThat(done.step("approval").output()).isEqualTo(approval(true));
    assertThat(eventNames())
        .containsExactly(
            "SagaStarted", "StepSucceeded", "SignalReceived", "StepSucceeded", "SagaCompleted");
  }

  @Test
  void aSignalThatComesEarlyIsKeptUntilTheSagaReachesItsStep() {
    var kit = entity();
    start(kit, 500);
    var reserve = script.awaitAction("reserve", 1);
    assertThat(signal(kit, "approval", approval(true), "sig-early"))
        .isInstanceOf(SagaReplies.Done.class);
    assertThat(view(kit).waitingFor()).isNull(); // not at the step yet
    reserve.succeed();
    script.awaitAction("charge", 1).succeed();

    awaitStatus(kit, SagaStatus.COMPLETED);
    assertThat(eventNames())
        .containsExactly(
            "SagaStarted", "SignalReceived", "StepSucceeded", "StepSucceeded", "SagaCompleted");
  }

  @Test
  void anApprovalThatSaysNoRejectsTheStepAndTheSagaCompensates() {
    var kit = entity();
    start(kit, 500);
    script.awaitAction("reserve", 1).succeed();
    awaitWaiting(kit);
    signal(kit, "approval", approval(false), "sig-no");
    script.awaitCompensation("reserve", 1).succeed();

    var done = awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(done.failure()).contains("approval").contains("refused by ana");
    assertThat(done.step("approval").status()).isEqualTo(StepStatus.REJECTED);
    assertThat(script.count(c -> c.step().equals("charge"))).isZero();
  }

  @Test
  void underTheThresholdTheStepDoesNotWait() {
    var kit = entity();
    start(kit, 50);
    script.awaitAction("reserve", 1).succeed();
    script.awaitAction("charge", 1).succeed();

    var done = awaitStatus(kit, SagaStatus.COMPLETED);
    assertThat(done.step("approval").status()).isEqualTo(StepStatus.SUCCEEDED);
    assertThat(done.step("approval").output()).isNull();
    assertThat(eventNames()).doesNotContain("SignalReceived");
  }

  @Test
  void noSignalWithinTheTimeoutRejectsTheStep() {
    var kit = entity();
    start(kit, 500);
    script.awaitAction("reserve", 1).succeed();
    script.awaitCompensation("reserve", 1).succeed();

    var done = awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(done.failure()).contains("no signal 'approval' arrived within PT0.6S");
    // Too late now: the saga has ended.
    assertThat(signal(kit, "approval", approval(true), "sig-late"))
        .isInstanceOfSatisfying(
            SagaReplies.Refused.class, r -> assertThat(r.detail()).contains("saga is COMPENSATED"));
  }

  @Test
  void theWaitSurvivesARestartAndItsTimeoutCountsFromWhenTheStepWasDue() {
    var kit = entity();
    start(kit, 500);
    script.awaitAction("reserve", 1).succeed();
    awaitWaiting(kit);
    var since = view(kit).waitingFor().since();
    kit.restart();
    assertThat(view(kit).waitingFor().since()).isEqualTo(since);
    signal(kit, "approval", approval(true), "sig-after-restart");
    script.awaitAction("charge", 1).succeed();
    awaitStatus(kit, SagaStatus.COMPLETED);
  }

  @Test
  void cancelWhileWaitingCompensatesAtOnce() {
    var kit = entity();
    start(kit, 500);
    script.awaitAction("reserve", 1).succeed();
    awaitWaiting(kit);
    kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Cancel("c-1", "changed", replyTo));
    script.awaitCompensation("reserve", 1).succeed();
    awaitStatus(kit, SagaStatus.COMPENSATED);
  }

  @Test
  void aRepeatAnswersAsTheFirstDidAndASecondSignalOfTheNameIsRefused() {
    var kit = entity();
    start(kit, 500);
    var reserve = script.awaitAction("reserve", 1);
    assertThat(signal(kit, "approval", approval(true), "k-1")).isInstanceOf(SagaReplies.Done.class);
    assertThat(signal(kit, "approval", approval(true), "k-1")).isInstanceOf(SagaReplies.Done.class);
    assertThat(signal(kit, "approval", approval(false), "k-2"))
        .isInstanceOfSatisfying(
            SagaReplies.Refused.class, r -> assertThat(r.detail()).contains("already received"));
    reserve.succeed();
    script.awaitAction("charge", 1).succeed();
    awaitStatus(kit, SagaStatus.COMPLETED);
    assertThat(eventNames().stream().filter("SignalReceived"::equals)).hasSize(1);
  }

  @Test
  void anUnknownSignalIsRefusedAndWritesNothing() {
    var kit = entity();
    start(kit, 500);
    assertThat(signal(kit, "payment", approval(true), "k-x"))
        .isInstanceOfSatisfying(
            SagaReplies.UnknownSignal.class,
            u -> assertThat(u.detail()).contains("no signal 'payment'").contains("[approval]"));
    assertThat(eventNames()).containsExactly("SagaStarted");
  }
}
