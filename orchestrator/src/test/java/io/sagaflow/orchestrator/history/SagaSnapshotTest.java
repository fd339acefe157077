package io.sagaflow.orchestrator.history;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.StepStatus;
import io.sagaflow.orchestrator.history.SagaEvent.BranchFailed;
import io.sagaflow.orchestrator.history.SagaEvent.BranchSettled;
import io.sagaflow.orchestrator.history.SagaEvent.BranchSucceeded;
import io.sagaflow.orchestrator.history.SagaEvent.BranchesStarted;
import io.sagaflow.orchestrator.history.SagaEvent.CompensationAttemptFailed;
import io.sagaflow.orchestrator.history.SagaEvent.CompensationFailed;
import io.sagaflow.orchestrator.history.SagaEvent.CompensationSkipped;
import io.sagaflow.orchestrator.history.SagaEvent.CompensationStarted;
import io.sagaflow.orchestrator.history.SagaEvent.SagaCompleted;
import io.sagaflow.orchestrator.history.SagaEvent.SagaFailed;
import io.sagaflow.orchestrator.history.SagaEvent.SagaResumed;
import io.sagaflow.orchestrator.history.SagaEvent.SagaStarted;
import io.sagaflow.orchestrator.history.SagaEvent.StepAttemptFailed;
import io.sagaflow.orchestrator.history.SagaEvent.StepCompensated;
import io.sagaflow.orchestrator.history.SagaEvent.StepFailed;
import io.sagaflow.orchestrator.history.SagaEvent.StepFailedAfterPivot;
import io.sagaflow.orchestrator.history.SagaEvent.StepSucceeded;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class SagaSnapshotTest {
  private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  private static Instant t(int seconds) {
    return T0.plusSeconds(seconds);
  }

  private static SagaStarted started() {
    return new SagaStarted(
        "order", 1, JSON.objectNode(), "f", "trace", null, "reserve", t(600), t(0));
  }

  /** Histories the entity writes, one per path through the state machine. */
  static Stream<List<SagaEvent>> histories() {
    return Stream.of(
        completed(),
        List.of(
            started(),
            new StepSucceeded("reserve", 1, JSON.objectNode().put("id", "r-1"), "charge", t(1)),
            new StepFailed("charge", 1, "402", false, "rejected", List.of("reserve"), t(2)),
            new StepCompensated("reserve", 1, true, t(3))),
        List.of(started(), new StepFailed("reserve", 1, "422", false, "rejected", List.of(), t(1))),
        List.of(
            started(),
            new StepSucceeded("reserve", 1, JSON.objectNode(), "charge", t(1)),
            new StepAttemptFailed("charge", 1, "503", t(5), t(2)),
            new CompensationStarted("cancelled", "c-1", List.of("charge", "reserve"), t(3)),
            new CompensationAttemptFailed("charge", 1, "503", t(9), t(4)),
            new StepCompensated("charge", 2, false, t(9)),
            new CompensationFailed("reserve", 1, "400", "gave up", t(10)),
            new SagaResumed("r-1", t(20)),
            new StepCompensated("reserve", 2, true, t(21))),
        List.of(
            started(),
            new StepSucceeded("reserve", 1, JSON.objectNode(), "charge", t(1)),
            new SagaFailed("definition gone", t(2)),
            new SagaResumed("r-1", t(3)),
            new SagaCompleted("charge", 2, JSON.objectNode(), t(4))),
        cancelledWhileChargeWasRejected(),
        pastThePivot(),
        groupCompletes(),
        groupBranchRejected(),
        groupWithNothingToUndo(),
        groupCompensationFailsAndResumes(),
        groupFailsAfterThePivotAndResumes(),
        groupCancelled());
  }

  private static final JsonNodeFactory J = JsonNodeFactory.instance;

  private static List<SagaEvent> intoGroup() {
    return List.of(
        started(),
        new StepSucceeded("reserve", 1, J.objectNode(), "book", t(1)),
        new BranchesStarted("book", List.of("flight", "hotel"), 0, t(1)));
  }

  private static List<SagaEvent> with(List<SagaEvent> before, SagaEvent... after) {
    var all = new ArrayList<>(before);
    all.addAll(List.of(after));
    return all;
  }

  private static List<SagaEvent> groupCompletes() {
    return with(
        intoGroup(),
        new StepAttemptFailed("hotel", 1, "503", t(3), t(2)),
        new BranchSucceeded("flight", 1, J.objectNode(), null, false, t(2)),
        new BranchSucceeded("hotel", 2, J.objectNode(), null, true, t(3)));
  }

  private static List<SagaEvent> groupBranchRejected() {
    return with(
        intoGroup(),
        new BranchFailed(
            "hotel",
            1,
            "422",
            false,
            "rejected",
            List.of("flight", "reserve"),
            List.of("flight"),
            t(2)),
        new BranchSucceeded("flight", 1, J.objectNode(), null, false, t(3)),
        new StepCompensated("flight", 1, false, t(4)),
        new StepCompensated("reserve", 1, true, t(5)));
  }

  private static List<SagaEvent> groupWithNothingToUndo() {
    return List.of(
        new SagaStarted("order", 1, J.objectNode(), "f", "trace", null, "book", null, t(0)),
        new BranchesStarted("book", List.of("flight", "hotel"), 0, t(0)),
        new BranchFailed(
            "hotel", 1, "422", false, "rejected", List.of("flight"), List.of("flight"), t(1)),
        new BranchSettled("flight", 1, "422", false, true, t(2)));
  }

  private static List<SagaEvent> groupCompensationFailsAndResumes() {
    return with(
        intoGroup(),
        new BranchFailed(
            "hotel",
            2,
            "503",
            true,
            "no answer",
            List.of("hotel", "flight", "reserve"),
            List.of(),
            t(2)),
        new StepCompensated("flight", 1, false, t(3)),
        new CompensationFailed("hotel", 1, "400", "gave up", t(4)),
        new SagaResumed("r-1", t(5)),
        new StepCompensated("hotel", 2, false, t(6)),
        new StepCompensated("reserve", 1, true, t(7)));
  }

  private static List<SagaEvent> groupFailsAfterThePivotAndResumes() {
    return List.of(
        started(),
        new StepSucceeded("reserve", 1, J.objectNode(), "charge", t(1)),
        new StepSucceeded("charge", 1, J.objectNode(), "tell", t(2)),
        new BranchesStarted("tell", List.of("tell/a", "tell/b", "tell/c"), 2, t(2)),
        new BranchSucceeded("tell/b", 1, J.objectNode(), null, false, t(3)),
        new StepFailedAfterPivot("tell/a", 1, "422", false, "rejected", t(4)),
        new BranchSucceeded("tell/c", 1, J.objectNode(), null, false, t(5)),
        new SagaResumed("r-1", t(6)),
        new BranchSucceeded("tell/a", 2, J.objectNode(), null, true, t(7)));
  }

  private static List<SagaEvent> groupCancelled() {
    return with(
        intoGroup(),
        new CompensationStarted(
            "cancelled", "c-1", List.of("hotel", "flight", "reserve"), List.of("hotel"), t(2)),
        new BranchSucceeded("hotel", 1, J.objectNode(), null, false, t(3)),
        new CompensationAttemptFailed("flight", 1, "503", t(5), t(4)),
        new StepCompensated("hotel", 1, false, t(5)),
        new StepCompensated("flight", 2, false, t(6)),
        new StepCompensated("reserve", 1, true, t(7)));
  }

  @Test
  void aGroupsBranchesRunTogetherAndItsOutputIsItsElementsInOrder() {
    var fanned =
        (SagaSnapshot.RunningGroup)
            SagaHistory.fold(
                    List.of(
                        new SagaStarted(
                            "order", 1, J.objectNode(), "f", "trace", null, "tell", null, t(0)),
                        new BranchesStarted(
                            "tell", List.of("tell/a", "tell/b", "tell/c"), 2, t(0))))
                .orElseThrow();
    assertThat(fanned.cursors()).extracting(Cursor::step).containsExactly("tell/a", "tell/b");
    assertThat(fanned.step("tell/c").status()).isEqualTo(StepStatus.PENDING);

    var done =
        fanned
            .apply(new BranchSucceeded("tell/b", 1, J.textNode("B"), null, false, t(1)))
            .apply(new BranchSucceeded("tell/c", 1, J.textNode("C"), null, false, t(2)))
            .apply(new BranchSucceeded("tell/a", 1, J.textNode("A"), null, true, t(3)));
    assertThat(((SagaSnapshot.Started) done).step("tell").output().toString())
        .isEqualTo("[\"A\",\"B\",\"C\"]");
  }

  @Test
  void aBranchSucceededThatEndsAGroupStillRunningCannotBeFolded() {
    var group = SagaHistory.fold(intoGroup()).orElseThrow();
    assertThatThrownBy(
            () -> group.apply(new BranchSucceeded("flight", 1, J.objectNode(), "pay", false, t(2))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("cannot end a group still running");
  }

  /** A cancel while charge's call was out, which then answered 422: charge is not undone. */
  private static List<SagaEvent> cancelledWhileChargeWasRejected() {
    return List.of(
        started(),
        new StepSucceeded("reserve", 1, JSON.objectNode(), "charge", t(1)),
        new CompensationStarted("cancelled", "c-1", List.of("charge", "reserve"), t(2)),
        new CompensationSkipped("charge", 1, "answered 422", false, t(3)),
        new StepCompensated("reserve", 1, true, t(4)));
  }

  /**
   * A step after the pivot is rejected, resumed, runs out of attempts, is resumed again and
   * succeeds: nothing is compensated.
   */
  private static List<SagaEvent> pastThePivot() {
    return List.of(
        started(),
        new StepSucceeded("reserve", 1, JSON.objectNode(), "charge", t(1)),
        new StepSucceeded("charge", 1, JSON.objectNode(), "notify", t(2)),
        new StepFailedAfterPivot("notify", 1, "422", false, "notify was rejected", t(3)),
        new SagaResumed("r-1", t(4)),
        new StepAttemptFailed("notify", 2, "503", t(6), t(5)),
        new StepFailedAfterPivot("notify", 3, "503", true, "notify gave no answer", t(6)),
        new SagaResumed("r-2", t(7)),
        new SagaCompleted("notify", 4, JSON.objectNode(), t(8)));
  }

  private static List<SagaEvent> completed() {
    return List.of(
        started(),
        new StepSucceeded("reserve", 1, JSON.objectNode().put("id", "r-1"), "charge", t(1)),
        new StepAttemptFailed("charge", 1, "503", t(3), t(2)),
        new SagaCompleted("charge", 2, JSON.objectNode().put("id", "c-1"), t(3)));
  }

  @ParameterizedTest
  @MethodSource("histories")
  void theStatusAfterEveryEventIsWhatTheEventsStatusChangeSays(List<SagaEvent> history) {
    SagaSnapshot snapshot = new SagaSnapshot.NotStarted();
    SagaStatus status = null;
    SagaStatus beforeFailure = null;
    for (SagaEvent event : history) {
      StatusChange change = event.statusChange();
      SagaStatus expected = change.after(status, beforeFailure);
      if (change instanceof StatusChange.ToFailed failed) {
        beforeFailure = failed.resumesFrom(status);
      }
      snapshot = snapshot.apply(event);

      assertThat(((SagaSnapshot.Started) snapshot).status())
          .as(event.toString())
          .isEqualTo(expected);
      assertThat(event.changesStatus()).isEqualTo(expected != status);
      status = expected;
    }
  }

  @Test
  void foldsAHistoryIntoTheSagaItDescribes() {
    SagaSnapshot.Started saga = SagaHistory.fold(completed()).orElseThrow();

    assertThat(saga).isInstanceOf(SagaSnapshot.Completed.class);
    assertThat(saga.type()).isEqualTo("order");
    assertThat(saga.createdAt()).isEqualTo(t(0));
    assertThat(saga.updatedAt()).isEqualTo(t(3));
    assertThat(saga.deadline()).isEqualTo(t(600));
    assertThat(saga.cursor()).isNull();
    assertThat(saga.steps())
        .extracting(StepSnapshot::name, StepSnapshot::status, StepSnapshot::attempts)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("reserve", StepStatus.SUCCEEDED, 1),
            org.assertj.core.groups.Tuple.tuple("charge", StepStatus.SUCCEEDED, 2));
    assertThat(saga.step("charge").output().get("id").asText()).isEqualTo("c-1");
  }

  @Test
  void aRetryIsDueWhereTheFailedAttemptSaidWithTheNextAttemptNumber() {
    var history = new ArrayList<>(completed().subList(0, 3));

    var saga = (SagaSnapshot.Running) SagaHistory.fold(history).orElseThrow();

    assertThat(saga.cursor()).isEqualTo(new Cursor(Phase.FORWARD, "charge", 2, 1, t(3)));
    assertThat(saga.step("charge").status()).isEqualTo(StepStatus.RETRYING);
    assertThat(saga.step("charge").lastError()).isEqualTo("503");
  }

  @Test
  void aCancelCountsTheStepInFlightAsUncertainAndUndoesNewestFirst() {
    var saga =
        (SagaSnapshot.Compensating)
            SagaHistory.fold(
                    List.of(
                        started(),
                        new StepSucceeded("reserve", 1, JSON.objectNode(), "charge", t(1)),
                        new CompensationStarted(
                            "cancelled", "c-1", List.of("charge", "reserve"), t(2))))
                .orElseThrow();

    assertThat(saga.step("charge").status()).isEqualTo(StepStatus.COMPENSATING);
    assertThat(saga.cursor()).isEqualTo(Cursor.first(Phase.COMPENSATION, "charge"));
    assertThat(saga.compensations()).containsExactly("reserve");
    assertThat(saga.failure()).isEqualTo("cancelled");
    assertThat(saga.handledCommand("c-1")).isTrue();
  }

  @Test
  void aCompensationLeftOutMarksTheStepRejectedAndUndoesTheNextOne() {
    var history = cancelledWhileChargeWasRejected();
    var saga = (SagaSnapshot.Compensating) SagaHistory.fold(history.subList(0, 4)).orElseThrow();

    assertThat(saga.cursor()).isEqualTo(Cursor.first(Phase.COMPENSATION, "reserve"));
    assertThat(saga.compensations()).isEmpty();
    assertThat(saga.step("charge").status()).isEqualTo(StepStatus.REJECTED);
    assertThat(saga.step("charge").lastError()).isEqualTo("answered 422");
    assertThat(saga.step("charge").compensationAttempts()).isZero();
    assertThat(saga.step("reserve").status()).isEqualTo(StepStatus.COMPENSATING);
    assertThat(SagaHistory.fold(history).orElseThrow().status()).isEqualTo(SagaStatus.COMPENSATED);
  }

  @Test
  void onlyTheCompensationDueBeforeAnyAttemptOfItCanBeLeftOut() {
    var cancelled = cancelledWhileChargeWasRejected().subList(0, 3);
    var retried = new ArrayList<>(cancelled);
    retried.add(new CompensationAttemptFailed("charge", 1, "503", t(9), t(3)));

    assertThatThrownBy(
            () ->
                SagaHistory.fold(
                    append(retried, new CompensationSkipped("charge", 2, "422", false, t(4)))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("attempt 2 of the compensation of 'charge'");
    assertThatThrownBy(
            () ->
                SagaHistory.fold(
                    append(cancelled, new CompensationSkipped("reserve", 1, "422", true, t(4)))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("compensation of 'charge'");
    assertThatThrownBy(
            () ->
                SagaHistory.fold(
                    append(
                        completed().subList(0, 2),
                        new CompensationSkipped("charge", 1, "422", true, t(4)))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("a CompensationSkipped cannot follow a saga that is RUNNING");
  }

  private static List<SagaEvent> append(List<SagaEvent> history, SagaEvent event) {
    var longer = new ArrayList<>(history);
    longer.add(event);
    return longer;
  }

  @Test
  void aResumeCarriesOnWhereTheSagaFailedWithAFreshBudget() {
    var history = new ArrayList<>(histories().toList().get(3));
    var failed = (SagaSnapshot.Failed) SagaHistory.fold(history.subList(0, 7)).orElseThrow();
    assertThat(failed.cursor().phase()).isEqualTo(Phase.COMPENSATION);
    assertThat(failed.step("reserve").status()).isEqualTo(StepStatus.COMPENSATION_FAILED);

    var resumed = (SagaSnapshot.Compensating) failed.apply(history.get(7));

    assertThat(resumed.cursor()).isEqualTo(new Cursor(Phase.COMPENSATION, "reserve", 2, 2, null));
    assertThat(resumed.cursor().attemptsInBudget()).isEqualTo(1);
    assertThat(resumed.step("reserve").status()).isEqualTo(StepStatus.COMPENSATING);
  }

  @Test
  void aFailureAfterThePivotWaitsOnThatStepAndAResumeCarriesItForward() {
    var history = pastThePivot();

    var rejected = (SagaSnapshot.Failed) SagaHistory.fold(history.subList(0, 4)).orElseThrow();
    assertThat(rejected.cursor()).isEqualTo(new Cursor(Phase.FORWARD, "notify", 1, 1, null));
    assertThat(rejected.compensations()).isEmpty();
    assertThat(rejected.failure()).isEqualTo("notify was rejected");
    assertThat(rejected.steps())
        .extracting(StepSnapshot::name, StepSnapshot::status)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("reserve", StepStatus.SUCCEEDED),
            org.assertj.core.groups.Tuple.tuple("charge", StepStatus.SUCCEEDED),
            org.assertj.core.groups.Tuple.tuple("notify", StepStatus.REJECTED));
    assertThat(rejected.step("notify").lastError()).isEqualTo("422");

    var resumed = (SagaSnapshot.Running) rejected.apply(history.get(4));
    assertThat(resumed.cursor()).isEqualTo(new Cursor(Phase.FORWARD, "notify", 2, 2, null));
    assertThat(resumed.step("notify").status()).isEqualTo(StepStatus.RUNNING);
    assertThat(resumed.step("notify").finishedAt()).isNull();

    // The retry due at t(6) is not due any more once the saga waits for an operator.
    var uncertain = (SagaSnapshot.Failed) SagaHistory.fold(history.subList(0, 7)).orElseThrow();
    assertThat(uncertain.cursor()).isEqualTo(new Cursor(Phase.FORWARD, "notify", 3, 2, null));
    assertThat(uncertain.step("notify").status()).isEqualTo(StepStatus.UNCERTAIN);
    assertThat(uncertain.step("notify").attempts()).isEqualTo(3);
    assertThat(((SagaSnapshot.Running) uncertain.apply(history.get(7))).cursor())
        .isEqualTo(new Cursor(Phase.FORWARD, "notify", 4, 4, null));
    assertThat(SagaHistory.fold(history).orElseThrow()).isInstanceOf(SagaSnapshot.Completed.class);
  }

  @Test
  void refusesAnEventItsPhaseCannotHaveWritten() {
    SagaSnapshot.Started done = SagaHistory.fold(completed()).orElseThrow();

    assertThatThrownBy(() -> done.apply(new SagaResumed("r-1", t(9))))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("a SagaResumed cannot follow a saga that is COMPLETED");
    assertThatThrownBy(
            () -> new SagaSnapshot.NotStarted().apply(new StepCompensated("x", 1, true, t(1))))
        .hasMessage("a StepCompensated cannot follow a saga that is not started");
    assertThat(SagaHistory.fold(List.of())).isEmpty();
  }
}
