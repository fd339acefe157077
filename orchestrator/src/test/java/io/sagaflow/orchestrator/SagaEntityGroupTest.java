package io.sagaflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaReplies.Done;
import io.sagaflow.orchestrator.SagaReplies.OperatorReply;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepRejectedException;
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
 * Parallel groups and fan-outs on the saga entity, on Pekko's in-memory persistence test kit with
 * serialization checks on. Every branch is a scripted local action, so each test decides every
 * attempt's outcome and when it comes.
 */
class SagaEntityGroupTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private static final ActorTestKit testKit =
      ActorTestKit.create(
          EventSourcedBehaviorTestKit.config()
              .withFallback(ConfigFactory.parseString("pekko.loglevel = INFO"))
              .withFallback(ConfigFactory.load()));
  private static final PersistenceTestKit journal = PersistenceTestKit.create(testKit.system());
  private static final ExecutorService LOCAL_STEPS = Executors.newFixedThreadPool(8);

  private final ScriptedSteps script = new ScriptedSteps();
  private final String sagaId = "saga-" + UUID.randomUUID();

  /** quote, then flight and hotel in parallel, then pay (the pivot), then email and sms. */
  private final SagaDefinition<?> trip =
      SagaDefinition.builder("grouped")
          .defaultRetry(
              r ->
                  r.maxAttempts(2)
                      .minBackoff(Duration.ofMillis(20))
                      .maxBackoff(Duration.ofMillis(50)))
          .compensationRetry(
              r ->
                  r.maxAttempts(2)
                      .minBackoff(Duration.ofMillis(20))
                      .maxBackoff(Duration.ofMillis(50)))
          .defaultTimeout(Duration.ofSeconds(30))
          .step(
              Step.named("quote")
                  .invoke(script.action("quote"))
                  .compensateWith(script.compensation("quote")))
          .group(
              "book",
              g ->
                  g.step(
                          Step.named("flight")
                              .invoke(script.action("flight"))
                              .compensateWith(script.compensation("flight")))
                      .step(
                          Step.named("hotel")
                              .invoke(script.action("hotel"))
                              .compensateWith(script.compensation("hotel"))
                              .retry(r -> r.maxAttempts(3))))
          .step(Step.named("pay").invoke(script.action("pay")).pivot())
          .group(
              "tell",
              g ->
                  g.step(
                          Step.named("email")
                              .invoke(script.action("email"))
                              .retry(r -> r.maxAttempts(1)))
                      .step(Step.named("sms").invoke(script.action("sms"))))
          .build();

  /** Notifies every guest of the input, two at a time, then finishes. */
  private final SagaDefinition<?> fanOut =
      SagaDefinition.builder("fan")
          .defaultTimeout(Duration.ofSeconds(30))
          .step(
              Step.named("quote")
                  .invoke(script.action("quote"))
                  .compensateWith(script.compensation("quote")))
          .step(
              Step.named("invite")
                  .forEach(ctx -> guests(ctx.inputJson()), JsonNode::asText)
                  .maxConcurrency(2)
                  .maxElements(3)
                  .invoke(script.elementAction())
                  .compensateWith(script.elementCompensation()))
          .step(Step.named("done").invoke(script.action("done")).noCompensation())
          .build();

  /** Two branches and a deadline that passes while both are out. */
  private final SagaDefinition<?> hurried =
      SagaDefinition.builder("hurried")
          .deadline(Duration.ofMillis(300))
          .defaultTimeout(Duration.ofSeconds(30))
          .group(
              "both",
              g ->
                  g.step(
                          Step.named("x")
                              .invoke(script.action("x"))
                              .compensateWith(script.compensation("x")))
                      .step(
                          Step.named("y")
                              .invoke(script.action("y"))
                              .compensateWith(script.compensation("y"))))
          .build();

  private final SagaRegistry registry = SagaRegistry.of(trip, fanOut, hurried);

  private static List<JsonNode> guests(JsonNode input) {
    var guests = new java.util.ArrayList<JsonNode>();
    input.path("guests").forEach(guests::add);
    return guests;
  }

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

  private void start(
      EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> kit,
      String type,
      JsonNode input) {
    kit.<SagaReplies.StartReply>runCommand(
        replyTo -> new SagaEntity.Start(type, null, input, replyTo));
  }

  private static JsonNode input() {
    return JsonNodeFactory.instance.objectNode().put("key", "k");
  }

  private List<String> eventNames() {
    return journal.persistedInStorage("saga|" + sagaId).stream()
        .map(e -> e.getClass().getSimpleName())
        .toList();
  }

  private void awaitEvent(String name, int n) {
    Eventually.until(
        n + " x " + name + " in " + eventNames(),
        WAIT,
        () -> eventNames().stream().filter(name::equals).count() >= n);
  }

  private SagaSnapshot.Started awaitStatus(
      EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> kit,
      SagaStatus status) {
    return Eventually.await(
        "status " + status,
        WAIT,
        () -> kit.getState() instanceof SagaSnapshot.Started a && a.status() == status ? a : null);
  }

  private static final StepRejectedException REJECTED = new StepRejectedException("no room");

  @Test
  void branchesStartTogetherAndTheNextStepStartsWhenEveryBranchHasSucceeded() {
    var kit = entity();
    start(kit, "grouped", input());
    script.awaitAction("quote", 1).succeed();

    // Both are called before either answers.
    var flight = script.awaitAction("flight", 1);
    var hotel = script.awaitAction("hotel", 1);
    hotel.succeed();
    awaitEvent("BranchSucceeded", 1);
    assertThat(script.count(c -> c.step().equals("pay"))).isZero();
    flight.succeed();
    script.awaitAction("pay", 1).succeed();
    script.awaitAction("email", 1).succeed();
    script.awaitAction("sms", 1).succeed();

    var done = awaitStatus(kit, SagaStatus.COMPLETED);
    assertThat(eventNames())
        .containsExactly(
            "SagaStarted",
            "StepSucceeded",
            "BranchesStarted",
            "BranchSucceeded",
            "BranchSucceeded",
            "StepSucceeded",
            "BranchesStarted",
            "BranchSucceeded",
            "BranchSucceeded");
    assertThat(done.step("flight").output().get("step").asText()).isEqualTo("flight");
    assertThat(done.step("hotel").status()).isEqualTo(StepStatus.SUCCEEDED);
    var view = SagaView.of(sagaId, done, registry.find("grouped", 1));
    assertThat(view.steps())
        .extracting(SagaView.StepView::name)
        .containsExactly("quote", "book", "pay", "tell");
    assertThat(view.step("book").branches())
        .extracting(SagaView.StepView::name, SagaView.StepView::status)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("flight", StepStatus.SUCCEEDED),
            org.assertj.core.groups.Tuple.tuple("hotel", StepStatus.SUCCEEDED));
    assertThat(view.step("book").status()).isEqualTo(StepStatus.SUCCEEDED);
  }

  @Test
  void aRejectedBranchWaitsForTheBranchInFlightThenUndoesItThenTheStepsBefore() {
    var kit = entity();
    start(kit, "grouped", input());
    script.awaitAction("quote", 1).succeed();
    var flight = script.awaitAction("flight", 1);
    script.awaitAction("hotel", 1).fail(REJECTED);

    var compensating = awaitStatus(kit, SagaStatus.COMPENSATING);
    assertThat(compensating.failure()).contains("step 'hotel' was rejected").contains("no room");
    // The flight's call is out: nothing is undone before it has answered.
    assertThat(script.count(ScriptedSteps.Call::compensation)).isZero();
    flight.succeed();

    script.awaitCompensation("flight", 1).succeed();
    script.awaitCompensation("quote", 1).succeed();
    var done = awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(script.describe())
        .containsSubsequence("flight#1", "undo flight#1", "undo quote#1")
        .doesNotContain("undo hotel#1", "pay#1");
    assertThat(done.step("hotel").status()).isEqualTo(StepStatus.REJECTED);
    assertThat(done.step("flight").status()).isEqualTo(StepStatus.COMPENSATED);
    assertThat(eventNames())
        .containsExactly(
            "SagaStarted",
            "StepSucceeded",
            "BranchesStarted",
            "BranchFailed",
            "BranchSucceeded",
            "StepCompensated",
            "StepCompensated");
  }

  @Test
  void theGroupsSucceededAndUncertainBranchesAreUndoneTogether() {
    var kit = entity();
    start(kit, "grouped", input());
    script.awaitAction("quote", 1).succeed();
    script.awaitAction("flight", 1).succeed();
    awaitEvent("BranchSucceeded", 1);
    // The hotel gives no answer until its three attempts are spent: uncertain.
    script.awaitAction("hotel", 1).fail(new IllegalStateException("503"));
    script.awaitAction("hotel", 2).fail(new IllegalStateException("503"));
    script.awaitAction("hotel", 3).fail(new IllegalStateException("503"));

    // Both compensations are called before either answers; the quote only after both.
    var undoFlight = script.awaitCompensation("flight", 1);
    var undoHotel = script.awaitCompensation("hotel", 1);
    assertThat(script.count(c -> c.compensation() && c.step().equals("quote"))).isZero();
    undoHotel.succeed();
    awaitEvent("StepCompensated", 1);
    assertThat(script.count(c -> c.compensation() && c.step().equals("quote"))).isZero();
    undoFlight.succeed();
    script.awaitCompensation("quote", 1).succeed();

    var done = awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(done.failure()).contains("step 'hotel' gave no answer after 3 attempts");
    assertThat(done.step("hotel").status()).isEqualTo(StepStatus.COMPENSATED);
    assertThat(eventNames())
        .containsSubsequence(
            "StepAttemptFailed", "StepAttemptFailed", "BranchFailed", "StepCompensated");
  }

  @Test
  void aBranchInFlightThatTurnsOutRejectedIsNotUndone() {
    var kit = entity();
    start(kit, "grouped", input());
    script.awaitAction("quote", 1).succeed();
    var flight = script.awaitAction("flight", 1);
    script.awaitAction("hotel", 1).fail(REJECTED);
    awaitStatus(kit, SagaStatus.COMPENSATING);
    flight.fail(new StepRejectedException("sold out"));

    script.awaitCompensation("quote", 1).succeed();
    var done = awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(done.step("flight").status()).isEqualTo(StepStatus.REJECTED);
    assertThat(script.describe()).doesNotContain("undo flight#1", "undo hotel#1");
    assertThat(eventNames()).contains("BranchSettled");
  }

  @Test
  void cancelMidGroupWaitsForTheBranchesOutThenUndoesThoseThatApplied() {
    var kit = entity();
    start(kit, "grouped", input());
    script.awaitAction("quote", 1).succeed();
    var flight = script.awaitAction("flight", 1);
    var hotel = script.awaitAction("hotel", 1);

    var reply =
        kit.<OperatorReply>runCommand(
            replyTo -> new SagaEntity.Cancel("c-1", "changed plans", replyTo));
    assertThat(reply.reply()).isInstanceOf(Done.class);
    var cancelled = (SagaEvent.CompensationStarted) reply.event();
    assertThat(cancelled.awaiting()).containsExactlyInAnyOrder("flight", "hotel");
    assertThat(cancelled.compensations()).contains("flight", "hotel", "quote");
    assertThat(script.count(ScriptedSteps.Call::compensation)).isZero();

    flight.succeed();
    awaitEvent("BranchSucceeded", 1);
    assertThat(script.count(ScriptedSteps.Call::compensation)).isZero();
    hotel.fail(REJECTED);
    script.awaitCompensation("flight", 1).succeed();
    script.awaitCompensation("quote", 1).succeed();

    var done = awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(done.failure()).isEqualTo("cancelled: changed plans");
    assertThat(script.describe()).doesNotContain("undo hotel#1");
  }

  @Test
  void theDeadlineMidGroupWaitsForTheBranchesOutThenUndoesBoth() {
    var kit = entity();
    start(kit, "hurried", input());
    var x = script.awaitAction("x", 1);
    var y = script.awaitAction("y", 1);

    var compensating = awaitStatus(kit, SagaStatus.COMPENSATING);
    assertThat(compensating.failure()).startsWith("deadline passed at ");
    assertThat(script.count(ScriptedSteps.Call::compensation)).isZero();
    x.succeed();
    y.succeed();
    script.awaitCompensation("x", 1).succeed();
    script.awaitCompensation("y", 1).succeed();
    awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(eventNames())
        .containsExactly(
            "SagaStarted",
            "BranchesStarted",
            "CompensationStarted",
            "BranchSucceeded",
            "BranchSucceeded",
            "StepCompensated",
            "StepCompensated");
  }

  @Test
  void aStepAfterTheGroupThatIsRejectedUndoesTheGroupsBranchesTogetherThenTheStepsBefore() {
    var kit = entity();
    start(kit, "grouped", input());
    script.awaitAction("quote", 1).succeed();
    script.awaitAction("flight", 1).succeed();
    script.awaitAction("hotel", 1).succeed();
    script.awaitAction("pay", 1).fail(new StepRejectedException("declined"));

    var undoHotel = script.awaitCompensation("hotel", 1);
    var undoFlight = script.awaitCompensation("flight", 1);
    undoFlight.succeed();
    awaitEvent("StepCompensated", 1);
    assertThat(script.count(c -> c.compensation() && c.step().equals("quote"))).isZero();
    undoHotel.succeed();
    script.awaitCompensation("quote", 1).succeed();

    var done = awaitStatus(kit, SagaStatus.COMPENSATED);
    var failed =
        journal.persistedInStorage("saga|" + sagaId).stream()
            .filter(e -> e instanceof SagaEvent.StepFailed)
            .map(e -> (SagaEvent.StepFailed) e)
            .findFirst()
            .orElseThrow();
    assertThat(failed.compensations()).containsExactly("hotel", "flight", "quote");
    assertThat(done.step("book").status()).isEqualTo(StepStatus.COMPENSATED);
  }

  @Test
  void aBranchRetriesOnItsOwnPolicyWhileTheOtherGoesOn() {
    var kit = entity();
    start(kit, "grouped", input());
    script.awaitAction("quote", 1).succeed();
    script.awaitAction("hotel", 1).fail(new IllegalStateException("busy"));
    script.awaitAction("hotel", 2).succeed();
    script.awaitAction("flight", 1).succeed();
    script.awaitAction("pay", 1);

    var state = (SagaSnapshot.Started) kit.getState();
    assertThat(state.step("hotel").attempts()).isEqualTo(2);
    assertThat(state.step("flight").attempts()).isEqualTo(1);
  }

  @Test
  void aBranchRestartedMidGroupIsCalledAgainAndItsLateAnswerIsIgnored() {
    var kit = entity();
    start(kit, "grouped", input());
    script.awaitAction("quote", 1).succeed();
    var lostFlight = script.awaitAction("flight", 1);
    script.awaitAction("hotel", 1).succeed();
    awaitEvent("BranchSucceeded", 1);

    kit.restart();
    // The same attempt again: the same idempotency key (the saga id and the branch).
    var flightAgain = script.await(c -> c.step().equals("flight") && !c.compensation(), 2, WAIT);
    assertThat(flightAgain.attempt()).isEqualTo(1);
    assertThat(script.count(c -> c.step().equals("hotel"))).isEqualTo(1);
    lostFlight.succeed();
    flightAgain.succeed();
    script.awaitAction("pay", 1);
    assertThat(eventNames().stream().filter("BranchSucceeded"::equals).count()).isEqualTo(2);
  }

  @Test
  void aBranchRejectedAfterThePivotLeavesTheSagaFailedAndRetryResumesIt() {
    var kit = entity();
    start(kit, "grouped", input());
    script.awaitAction("quote", 1).succeed();
    script.awaitAction("flight", 1).succeed();
    script.awaitAction("hotel", 1).succeed();
    script.awaitAction("pay", 1).succeed();
    script.awaitAction("sms", 1).succeed();
    script.awaitAction("email", 1).fail(new StepRejectedException("bounced"));

    var failed = awaitStatus(kit, SagaStatus.FAILED);
    assertThat(failed.failure()).contains("step 'email', after the pivot, was rejected");
    assertThat(script.count(ScriptedSteps.Call::compensation)).isZero();

    kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Resume("r-1", replyTo));
    script.awaitAction("email", 2).succeed();
    awaitStatus(kit, SagaStatus.COMPLETED);
    assertThat(script.count(c -> c.step().equals("sms"))).isEqualTo(1);
  }

  @Test
  void aBranchCompensationThatFailsLeavesTheSagaFailedAndRetryUndoesTheRest() {
    var kit = entity();
    start(kit, "grouped", input());
    script.awaitAction("quote", 1).succeed();
    script.awaitAction("flight", 1).succeed();
    awaitEvent("BranchSucceeded", 1);
    script.awaitAction("hotel", 1).fail(REJECTED);
    script.awaitCompensation("flight", 1).fail(new StepRejectedException("refused"));

    var failed = awaitStatus(kit, SagaStatus.FAILED);
    assertThat(failed.failure()).contains("compensation of step 'flight' was rejected");

    kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Resume("r-1", replyTo));
    script.awaitCompensation("flight", 2).succeed();
    script.awaitCompensation("quote", 1).succeed();
    awaitStatus(kit, SagaStatus.COMPENSATED);
  }

  @Test
  void anUndoThatLandsAfterAnotherBranchsUndoFailedIsKeptAndNotSentAgainOnRetry() {
    var kit = entity();
    start(kit, "grouped", input());
    script.awaitAction("quote", 1).succeed();
    script.awaitAction("flight", 1).succeed();
    awaitEvent("BranchSucceeded", 1);
    for (int attempt = 1; attempt <= 3; attempt++) {
      script.awaitAction("hotel", attempt).fail(new IllegalStateException("503"));
    }
    var undoHotel = script.awaitCompensation("hotel", 1);
    script.awaitCompensation("flight", 1).fail(new StepRejectedException("refused"));
    awaitStatus(kit, SagaStatus.FAILED);
    undoHotel.succeed();
    awaitEvent("StepCompensated", 1);

    var failed = (SagaSnapshot.Started) kit.getState();
    assertThat(failed.status()).isEqualTo(SagaStatus.FAILED);
    assertThat(failed.step("hotel").status()).isEqualTo(StepStatus.COMPENSATED);
    assertThat(failed.step("flight").status()).isEqualTo(StepStatus.COMPENSATION_FAILED);

    kit.<OperatorReply>runCommand(replyTo -> new SagaEntity.Resume("r-1", replyTo));
    script.awaitCompensation("flight", 2).succeed();
    script.awaitCompensation("quote", 1).succeed();
    awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(script.count(c -> c.compensation() && c.step().equals("hotel"))).isEqualTo(1);
  }

  private static JsonNode guestsInput(String... guests) {
    var input = JsonNodeFactory.instance.objectNode();
    var list = input.putArray("guests");
    for (String g : guests) {
      list.add(g);
    }
    return input;
  }

  @Test
  void aFanOutRunsEachElementAtMostTwoAtATimeAndCollectsTheOutputsInOrder() {
    var kit = entity();
    start(kit, "fan", guestsInput("ada", "bob", "cy"));
    script.awaitAction("quote", 1).succeed();
    var ada = script.awaitAction("invite/ada", 1);
    var bob = script.awaitAction("invite/bob", 1);
    assertThat(script.count(c -> c.step().equals("invite/cy"))).isZero();

    bob.succeed();
    var cy = script.awaitAction("invite/cy", 1);
    cy.succeed();
    ada.succeed();
    script.awaitAction("done", 1).succeed();

    var done = awaitStatus(kit, SagaStatus.COMPLETED);
    assertThat(done.step("invite").output())
        .extracting(o -> o.get("step").asText())
        .containsExactly("invite/ada", "invite/bob", "invite/cy");
    var started =
        journal.persistedInStorage("saga|" + sagaId).stream()
            .filter(e -> e instanceof SagaEvent.BranchesStarted)
            .map(e -> (SagaEvent.BranchesStarted) e)
            .findFirst()
            .orElseThrow();
    assertThat(started.branches()).containsExactly("invite/ada", "invite/bob", "invite/cy");
    assertThat(started.maxConcurrency()).isEqualTo(2);
    var view = SagaView.of(sagaId, done, registry.find("fan", 1));
    assertThat(view.step("invite").branches())
        .extracting(SagaView.StepView::name)
        .containsExactly("invite/ada", "invite/bob", "invite/cy");
  }

  @Test
  void aRejectedElementStartsNoFurtherElementAndUndoesThoseThatApplied() {
    var kit = entity();
    start(kit, "fan", guestsInput("ada", "bob", "cy"));
    script.awaitAction("quote", 1).succeed();
    var ada = script.awaitAction("invite/ada", 1);
    script.awaitAction("invite/bob", 1).fail(REJECTED);
    awaitStatus(kit, SagaStatus.COMPENSATING);
    ada.succeed();

    script.awaitCompensation("invite/ada", 1).succeed();
    script.awaitCompensation("quote", 1).succeed();
    var done = awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(script.count(c -> c.step().equals("invite/cy"))).isZero();
    assertThat(done.step("invite/cy").status()).isEqualTo(StepStatus.PENDING);
    assertThat(script.describe()).doesNotContain("undo invite/bob#1");
  }

  @Test
  void aListLongerThanItsBoundRejectsTheStepWithTheReason() {
    var kit = entity();
    start(kit, "fan", guestsInput("a", "b", "c", "d"));
    script.awaitAction("quote", 1).succeed();
    script.awaitCompensation("quote", 1).succeed();

    var done = awaitStatus(kit, SagaStatus.COMPENSATED);
    assertThat(done.failure())
        .isEqualTo(
            "step 'invite' was rejected: its list has 4 elements, more than its maxElements (3)");
    assertThat(script.count(c -> c.step().startsWith("invite"))).isZero();
  }

  @Test
  void elementsSharingAKeyRejectTheStepNamingTheKey() {
    var kit = entity();
    start(kit, "fan", guestsInput("ada", "ada"));
    script.awaitAction("quote", 1).succeed();
    script.awaitCompensation("quote", 1).succeed();
    assertThat(awaitStatus(kit, SagaStatus.COMPENSATED).failure())
        .isEqualTo(
            "step 'invite' was rejected: elements share the key 'ada'; each element needs its own");
  }

  @Test
  void anElementKeyThatIsNoKeyRejectsTheStep() {
    var kit = entity();
    start(kit, "fan", guestsInput("ada", "bob smith"));
    script.awaitAction("quote", 1).succeed();
    script.awaitCompensation("quote", 1).succeed();
    assertThat(awaitStatus(kit, SagaStatus.COMPENSATED).failure())
        .startsWith("step 'invite' was rejected: element 1 has the key 'bob smith'");
  }

  @Test
  void anEmptyListSucceedsAtOnceWithNoElements() {
    var kit = entity();
    start(kit, "fan", guestsInput());
    script.awaitAction("quote", 1).succeed();
    script.awaitAction("done", 1).succeed();

    var done = awaitStatus(kit, SagaStatus.COMPLETED);
    assertThat(done.step("invite").output()).isEmpty();
  }
}
