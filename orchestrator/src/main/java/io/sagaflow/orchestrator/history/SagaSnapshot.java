package io.sagaflow.orchestrator.history;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.sagaflow.orchestrator.SagaSerializable;
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
import io.sagaflow.orchestrator.history.SagaEvent.SignalReceived;
import io.sagaflow.orchestrator.history.SagaEvent.StepAttemptFailed;
import io.sagaflow.orchestrator.history.SagaEvent.StepCompensated;
import io.sagaflow.orchestrator.history.SagaEvent.StepFailed;
import io.sagaflow.orchestrator.history.SagaEvent.StepFailedAfterPivot;
import io.sagaflow.orchestrator.history.SagaEvent.StepSucceeded;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * A saga as its events leave it: one immutable record per lifecycle phase, each with the
 * transitions that phase allows, as pure methods. An event a phase does not allow is an {@link
 * IllegalStateException}: the history is not one this state machine can have written.
 */
public sealed interface SagaSnapshot extends SagaSerializable {

  /** The snapshot after {@code event}. */
  SagaSnapshot apply(SagaEvent event);

  /** No saga with this id has been started. */
  record NotStarted() implements SagaSnapshot {
    @Override
    public SagaSnapshot apply(SagaEvent event) {
      if (event instanceof SagaStarted e) {
        return new Running(Progress.of(e), Cursor.first(Phase.FORWARD, e.firstStep()));
      }
      throw illegal(event, "not started");
    }
  }

  /** A saga that has started, in whatever phase. */
  sealed interface Started extends SagaSnapshot {
    Progress progress();

    SagaStatus status();

    /**
     * What is due next (or, for a {@code FAILED} saga, where a resume carries on); null once ended.
     */
    Cursor cursor();

    /** The steps still to be undone after the cursor's, newest first. */
    List<String> compensations();

    /**
     * Every attempt due (or out) now: the cursor's, or in a parallel group those of its branches.
     */
    default List<Cursor> cursors() {
      Cursor cursor = cursor();
      return cursor == null ? List.of() : List.of(cursor);
    }

    /** The parallel group (or fan-out) under way, or null outside one. */
    default GroupRun group() {
      return null;
    }

    default String type() {
      return progress().start().type();
    }

    default int version() {
      return progress().start().version();
    }

    default JsonNode input() {
      return progress().start().input();
    }

    default String fingerprint() {
      return progress().start().fingerprint();
    }

    default String traceId() {
      return progress().start().traceId();
    }

    /** The span of the request that started the saga, or null. */
    default String parentSpanId() {
      return progress().start().parentSpanId();
    }

    default Instant deadline() {
      return progress().start().deadline();
    }

    default Instant createdAt() {
      return progress().start().at();
    }

    default Instant updatedAt() {
      return progress().updatedAt();
    }

    default List<StepSnapshot> steps() {
      return progress().steps();
    }

    /** The step of this name, or null when the saga has not reached it. */
    default StepSnapshot step(String name) {
      return progress().step(name);
    }

    default String failure() {
      return progress().failure();
    }

    /** Whether an operator command with this id has been applied already. */
    default boolean handledCommand(String commandId) {
      return progress().commandIds().contains(commandId);
    }
  }

  /** Forward steps are being driven; {@code cursor} is the one due. */
  record Running(Progress progress, Cursor cursor) implements Started {
    @Override
    public SagaStatus status() {
      return SagaStatus.RUNNING;
    }

    @Override
    public List<String> compensations() {
      return List.of();
    }

    @Override
    public SagaSnapshot apply(SagaEvent event) {
      if (event instanceof StepSucceeded e) {
        return succeeded(e);
      } else if (event instanceof StepAttemptFailed e) {
        return attemptFailed(e);
      } else if (event instanceof SagaCompleted e) {
        return completed(e);
      } else if (event instanceof StepFailed e) {
        return failed(e);
      } else if (event instanceof StepFailedAfterPivot e) {
        return failedAfterPivot(e);
      } else if (event instanceof CompensationStarted e) {
        return compensationStarted(e);
      } else if (event instanceof SagaFailed e) {
        return new Failed(progress.failedBecause(e.reason()).at(e.at()), cursor, List.of());
      } else if (event instanceof BranchesStarted e) {
        return branchesStarted(e);
      } else if (event instanceof SignalReceived e) {
        return new Running(progress.signalled(e), cursor);
      }
      throw illegal(event, "RUNNING");
    }

    /** The due stage is a parallel group or a fan-out: its first branches are due now. */
    private RunningGroup branchesStarted(BranchesStarted e) {
      if (!cursor.step().equals(e.step()) || e.branches().isEmpty()) {
        throw new IllegalStateException(
            "a BranchesStarted of '" + e.step() + "' cannot follow a saga due at " + cursor.step());
      }
      GroupRun group = GroupRun.started(e.step(), e.branches(), e.maxConcurrency());
      Progress next = progress;
      for (String branch : e.branches()) {
        next =
            next.plusStep(
                group.cursor(branch) != null
                    ? StepSnapshot.running(branch, e.at())
                    : StepSnapshot.pending(branch));
      }
      return new RunningGroup(next.withGroup(e.step(), e.branches()).at(e.at()), group);
    }

    private Running succeeded(StepSucceeded e) {
      Progress next =
          progress
              .changeStep(
                  e.step(),
                  s -> s.finished(StepStatus.SUCCEEDED, e.attempt(), e.output(), null, e.at()))
              .plusStep(StepSnapshot.running(e.nextStep(), e.at()))
              .at(e.at());
      return new Running(next, Cursor.first(Phase.FORWARD, e.nextStep()));
    }

    private Running attemptFailed(StepAttemptFailed e) {
      Progress next =
          progress.changeStep(e.step(), s -> s.retrying(e.attempt(), e.error())).at(e.at());
      return new Running(next, cursor.next(e.retryAt()));
    }

    private Completed completed(SagaCompleted e) {
      return new Completed(
          progress
              .changeStep(
                  e.step(),
                  s -> s.finished(StepStatus.SUCCEEDED, e.attempt(), e.output(), null, e.at()))
              .at(e.at()));
    }

    private Started failed(StepFailed e) {
      StepStatus outcome = e.uncertain() ? StepStatus.UNCERTAIN : StepStatus.REJECTED;
      Progress next =
          progress
              .changeStep(e.step(), s -> s.finished(outcome, e.attempt(), null, e.error(), e.at()))
              .failedBecause(e.reason());
      return compensate(next, e.compensations(), e.at());
    }

    /** Past the pivot nothing is undone: the saga waits on this step for an operator. */
    private Failed failedAfterPivot(StepFailedAfterPivot e) {
      StepStatus outcome = e.uncertain() ? StepStatus.UNCERTAIN : StepStatus.REJECTED;
      Progress next =
          progress
              .changeStep(e.step(), s -> s.finished(outcome, e.attempt(), null, e.error(), e.at()))
              .failedBecause(e.reason())
              .at(e.at());
      return new Failed(next, cursor.halted(), List.of());
    }

    /**
     * A cancel or the deadline: the step in flight may have happened, so it counts as uncertain.
     */
    private Started compensationStarted(CompensationStarted e) {
      Progress next =
          progress
              .changeStep(
                  cursor.step(),
                  s -> s.finished(StepStatus.UNCERTAIN, s.attempts(), null, s.lastError(), e.at()))
              .failedBecause(e.reason())
              .handled(e.commandId());
      return compensate(next, e.compensations(), e.at());
    }
  }

  /** A parallel group's (or a fan-out's) branches are being driven, several at once. */
  record RunningGroup(Progress progress, GroupRun group) implements Started {
    @Override
    public SagaStatus status() {
      return SagaStatus.RUNNING;
    }

    @Override
    public Cursor cursor() {
      return null;
    }

    @Override
    public List<Cursor> cursors() {
      return group.due();
    }

    @Override
    public List<String> compensations() {
      return List.of();
    }

    @Override
    public SagaSnapshot apply(SagaEvent event) {
      if (event instanceof StepAttemptFailed e) {
        Progress next =
            progress.changeStep(e.step(), s -> s.retrying(e.attempt(), e.error())).at(e.at());
        return new RunningGroup(next, group.change(e.step(), c -> c.next(e.retryAt())));
      } else if (event instanceof BranchSucceeded e) {
        return succeeded(e);
      } else if (event instanceof BranchFailed e) {
        StepStatus outcome = e.uncertain() ? StepStatus.UNCERTAIN : StepStatus.REJECTED;
        Progress next =
            progress
                .changeStep(
                    e.step(), s -> s.finished(outcome, e.attempt(), null, e.error(), e.at()))
                .failedBecause(e.reason());
        return groupCompensates(
            next, group.without(e.step()), e.compensations(), e.awaiting(), e.at());
      } else if (event instanceof CompensationStarted e) {
        Progress next = progress.failedBecause(e.reason()).handled(e.commandId());
        return groupCompensates(next, group, e.compensations(), e.awaiting(), e.at());
      } else if (event instanceof StepFailedAfterPivot e) {
        StepStatus outcome = e.uncertain() ? StepStatus.UNCERTAIN : StepStatus.REJECTED;
        Progress next =
            progress
                .changeStep(
                    e.step(), s -> s.finished(outcome, e.attempt(), null, e.error(), e.at()))
                .failedBecause(e.reason())
                .at(e.at());
        return new FailedGroup(
            next, group.change(e.step(), Cursor::halted), List.of(), Phase.FORWARD);
      } else if (event instanceof SagaFailed e) {
        return new FailedGroup(
            progress.failedBecause(e.reason()).at(e.at()), group, List.of(), Phase.FORWARD);
      } else if (event instanceof SignalReceived e) {
        return new RunningGroup(progress.signalled(e), group);
      }
      throw illegal(event, "RUNNING");
    }

    private Started succeeded(BranchSucceeded e) {
      if (group.cursor(e.step()) == null) {
        throw new IllegalStateException(
            "a BranchSucceeded of '" + e.step() + "' cannot follow a group not running it");
      }
      Progress next =
          progress.changeStep(
              e.step(),
              s -> s.finished(StepStatus.SUCCEEDED, e.attempt(), e.output(), null, e.at()));
      GroupRun rest = group.without(e.step());
      List<String> starting = rest.startable();
      for (String branch : starting) {
        next = next.changeStep(branch, s -> StepSnapshot.running(s.name(), e.at()));
      }
      rest = rest.start(starting);
      boolean done = rest.due().isEmpty();
      if (done != (e.sagaCompleted() || e.nextStep() != null)) {
        throw new IllegalStateException(
            "a BranchSucceeded of '"
                + e.step()
                + "' "
                + (done ? "must name what follows its group" : "cannot end a group still running"));
      }
      if (!done) {
        return new RunningGroup(next.at(e.at()), rest);
      }
      JsonNode output = groupOutput(next, group);
      next =
          next.changeStep(
              group.name(), s -> s.finished(StepStatus.SUCCEEDED, 1, output, null, e.at()));
      if (e.sagaCompleted()) {
        return new Completed(next.at(e.at()));
      }
      return new Running(
          next.plusStep(StepSnapshot.running(e.nextStep(), e.at())).at(e.at()),
          Cursor.first(Phase.FORWARD, e.nextStep()));
    }
  }

  /**
   * A parallel group (or a fan-out) is being undone: first the answers of the attempts that were
   * out are awaited ({@code group.due()} forward), then its branches that succeeded or may have are
   * compensated together; {@code compensations} are the steps before the group, undone after it,
   * newest first.
   */
  record CompensatingGroup(Progress progress, GroupRun group, List<String> compensations)
      implements Started {
    public CompensatingGroup {
      compensations = List.copyOf(compensations);
    }

    @Override
    public SagaStatus status() {
      return SagaStatus.COMPENSATING;
    }

    @Override
    public Cursor cursor() {
      return null;
    }

    @Override
    public List<Cursor> cursors() {
      return group.due();
    }

    @Override
    public SagaSnapshot apply(SagaEvent event) {
      if (event instanceof BranchSucceeded e && forwardDue(e.step())) {
        Progress next =
            progress.changeStep(
                e.step(),
                s -> s.finished(StepStatus.SUCCEEDED, e.attempt(), e.output(), null, e.at()));
        return afterSettling(next, group.without(e.step()).toUndo(e.step()), compensations, e.at());
      } else if (event instanceof BranchSettled e && forwardDue(e.step())) {
        StepStatus outcome = e.uncertain() ? StepStatus.UNCERTAIN : StepStatus.REJECTED;
        Progress next =
            progress.changeStep(
                e.step(), s -> s.finished(outcome, e.attempt(), null, e.error(), e.at()));
        GroupRun rest = group.without(e.step());
        return afterSettling(
            next, e.uncertain() ? rest.toUndo(e.step()) : rest, compensations, e.at());
      } else if (event instanceof CompensationAttemptFailed e && !group.forward()) {
        Progress next =
            progress.changeStep(e.step(), s -> s.compensating(e.attempt(), e.error())).at(e.at());
        return new CompensatingGroup(
            next, group.change(e.step(), c -> c.next(e.retryAt())), compensations);
      } else if (event instanceof StepCompensated e && !group.forward()) {
        Progress next =
            progress.changeStep(
                e.step(),
                s ->
                    s.compensationEnded(
                        StepStatus.COMPENSATED,
                        e.attempt(),
                        e.unreadable() != null ? e.unreadable() : s.lastError()));
        return afterSettling(next, group.without(e.step()), compensations, e.at());
      } else if (event instanceof CompensationFailed e && !group.forward()) {
        Progress next =
            progress
                .changeStep(
                    e.step(),
                    s ->
                        s.compensationEnded(StepStatus.COMPENSATION_FAILED, e.attempt(), e.error()))
                .changeStep(group.name(), s -> s.withStatus(StepStatus.COMPENSATION_FAILED))
                .failedBecause(e.reason())
                .at(e.at());
        return new FailedGroup(
            next, group.change(e.step(), Cursor::halted), compensations, Phase.COMPENSATION);
      } else if (event instanceof SagaFailed e) {
        return new FailedGroup(
            progress.failedBecause(e.reason()).at(e.at()),
            group,
            compensations,
            Phase.COMPENSATION);
      }
      throw illegal(event, "COMPENSATING");
    }

    private boolean forwardDue(String step) {
      Cursor c = group.cursor(step);
      if (c == null || c.phase() != Phase.FORWARD) {
        throw new IllegalStateException(
            "a branch answer of '" + step + "' cannot follow a group not waiting for it");
      }
      return true;
    }
  }

  /**
   * An operator must act on a parallel group: a branch failed after the pivot ({@code phase}
   * forward), or a branch's compensation failed. A resume carries on with every attempt due.
   */
  record FailedGroup(Progress progress, GroupRun group, List<String> compensations, Phase phase)
      implements Started {
    public FailedGroup {
      compensations = List.copyOf(compensations);
    }

    @Override
    public SagaStatus status() {
      return SagaStatus.FAILED;
    }

    @Override
    public Cursor cursor() {
      return null;
    }

    @Override
    public List<Cursor> cursors() {
      return group.due();
    }

    @Override
    public SagaSnapshot apply(SagaEvent event) {
      // The other branches' attempts out when the saga failed still land: what they did is kept.
      if (event instanceof BranchSucceeded e
          && phase == Phase.FORWARD
          && group.cursor(e.step()) != null
          && e.nextStep() == null
          && !e.sagaCompleted()) {
        Progress next =
            progress
                .changeStep(
                    e.step(),
                    s -> s.finished(StepStatus.SUCCEEDED, e.attempt(), e.output(), null, e.at()))
                .at(e.at());
        return new FailedGroup(next, group.without(e.step()), compensations, phase);
      } else if (event instanceof StepCompensated e
          && phase == Phase.COMPENSATION
          && group.cursor(e.step()) != null
          && !e.sagaCompensated()) {
        Progress next =
            progress
                .changeStep(
                    e.step(),
                    s ->
                        s.compensationEnded(
                            StepStatus.COMPENSATED,
                            e.attempt(),
                            e.unreadable() != null ? e.unreadable() : s.lastError()))
                .at(e.at());
        return new FailedGroup(next, group.without(e.step()), compensations, phase);
      } else if (event instanceof SagaResumed e) {
        GroupRun resumed = group.map(Cursor::resumed);
        Progress next = progress;
        for (Cursor c : resumed.due()) {
          next =
              next.changeStep(
                  c.step(),
                  s ->
                      c.phase() == Phase.FORWARD
                          ? s.runningAgain()
                          : s.withStatus(StepStatus.COMPENSATING));
        }
        next =
            next.changeStep(
                    group.name(),
                    s ->
                        s.withStatus(
                            phase == Phase.FORWARD ? StepStatus.RUNNING : StepStatus.COMPENSATING))
                .handled(e.commandId())
                .at(e.at());
        return phase == Phase.FORWARD
            ? new RunningGroup(next, resumed)
            : new CompensatingGroup(next, resumed, compensations);
      }
      throw illegal(event, "FAILED");
    }
  }

  /**
   * A failure or a cancel in a group: the attempts of {@code awaiting} stay due until they have
   * answered; every other branch listed in {@code compensations} is undone once they have; the rest
   * of {@code compensations} (the steps before the group) after that.
   */
  private static Started groupCompensates(
      Progress progress,
      GroupRun group,
      List<String> compensations,
      List<String> awaiting,
      Instant at) {
    List<String> waitFor = awaiting == null ? List.of() : awaiting;
    var undo = new ArrayList<String>();
    var rest = new ArrayList<String>();
    for (String step : compensations) {
      if (!group.branches().contains(step)) {
        rest.add(step);
      } else if (!waitFor.contains(step)) {
        undo.add(step);
      }
    }
    Progress next = progress;
    for (Cursor c : group.due()) {
      if (!waitFor.contains(c.step())) {
        // Not out, but tried (or about to be): it may have happened.
        next =
            next.changeStep(
                c.step(),
                s -> s.finished(StepStatus.UNCERTAIN, s.attempts(), null, s.lastError(), at));
      }
    }
    next = next.changeStep(group.name(), s -> s.withStatus(StepStatus.COMPENSATING));
    return afterSettling(next, group.awaiting(waitFor, undo), rest, at);
  }

  /**
   * Once no answer is awaited, the group's branches to undo are compensated together; once none is
   * left, the steps before the group, newest first.
   */
  private static Started afterSettling(
      Progress progress, GroupRun group, List<String> compensations, Instant at) {
    if (!group.due().isEmpty()) {
      return new CompensatingGroup(progress.at(at), group, compensations);
    }
    if (!group.undo().isEmpty()) {
      Progress next = progress;
      for (String step : group.undo()) {
        next = next.changeStep(step, s -> s.compensating(1, s.lastError()));
      }
      return new CompensatingGroup(next.at(at), group.undoing(), compensations);
    }
    Progress next = progress.changeStep(group.name(), s -> s.withStatus(StepStatus.COMPENSATED));
    return compensate(next, compensations, at);
  }

  /**
   * A group's output: for a fan-out, its elements' outputs in the list's order; a parallel group
   * has none (later steps read each branch's output by its key).
   */
  private static JsonNode groupOutput(Progress progress, GroupRun group) {
    if (!group.branches().get(0).startsWith(group.name() + "/")) {
      return null;
    }
    ArrayNode outputs = JsonNodeFactory.instance.arrayNode();
    for (String branch : group.branches()) {
      outputs.add(progress.step(branch).output());
    }
    return outputs;
  }

  /** Steps are being undone, newest first; {@code cursor} is the compensation due. */
  record Compensating(Progress progress, Cursor cursor, List<String> compensations)
      implements Started {
    public Compensating {
      compensations = List.copyOf(compensations);
    }

    @Override
    public SagaStatus status() {
      return SagaStatus.COMPENSATING;
    }

    @Override
    public SagaSnapshot apply(SagaEvent event) {
      if (event instanceof StepCompensated e) {
        return compensate(
            progress.changeStep(
                e.step(),
                s ->
                    s.compensationEnded(
                        StepStatus.COMPENSATED,
                        e.attempt(),
                        e.unreadable() != null ? e.unreadable() : s.lastError())),
            compensations,
            e.at());
      } else if (event instanceof CompensationAttemptFailed e) {
        Progress next =
            progress.changeStep(e.step(), s -> s.compensating(e.attempt(), e.error())).at(e.at());
        return new Compensating(next, cursor.next(e.retryAt()), compensations);
      } else if (event instanceof CompensationSkipped e) {
        return skipped(e);
      } else if (event instanceof CompensationFailed e) {
        Progress next =
            progress
                .changeStep(
                    e.step(),
                    s ->
                        s.compensationEnded(StepStatus.COMPENSATION_FAILED, e.attempt(), e.error()))
                .failedBecause(e.reason())
                .at(e.at());
        return new Failed(next, cursor, compensations);
      } else if (event instanceof SagaFailed e) {
        return new Failed(progress.failedBecause(e.reason()).at(e.at()), cursor, compensations);
      }
      throw illegal(event, "COMPENSATING");
    }

    /**
     * Only the compensation that is due, before any attempt of it: the one of the step whose
     * forward call a cancel or the deadline left out, and which the saga waited for.
     */
    private Started skipped(CompensationSkipped e) {
      if (!cursor.step().equals(e.step()) || cursor.attempt() != 1 || cursor.retryAt() != null) {
        throw new IllegalStateException(
            "a CompensationSkipped of step '"
                + e.step()
                + "' cannot follow a saga due to attempt "
                + cursor.attempt()
                + " of the compensation of '"
                + cursor.step()
                + "'");
      }
      return compensate(
          progress.changeStep(
              e.step(), s -> s.rejectedWhileCompensating(e.attempt(), e.error(), e.at())),
          compensations,
          e.at());
    }
  }

  /**
   * An operator must act. {@code cursor} is where a resume carries on: forward (a failure after the
   * pivot, or a saga whose definition is gone) or with the compensation that failed.
   */
  record Failed(Progress progress, Cursor cursor, List<String> compensations) implements Started {
    public Failed {
      compensations = List.copyOf(compensations);
    }

    @Override
    public SagaStatus status() {
      return SagaStatus.FAILED;
    }

    @Override
    public SagaSnapshot apply(SagaEvent event) {
      if (event instanceof SagaResumed e) {
        return resumed(e);
      }
      throw illegal(event, "FAILED");
    }

    private Started resumed(SagaResumed e) {
      boolean forward = cursor.phase() == Phase.FORWARD;
      Progress next =
          progress
              .changeStep(
                  cursor.step(),
                  s -> forward ? s.runningAgain() : s.withStatus(StepStatus.COMPENSATING))
              .handled(e.commandId())
              .at(e.at());
      return forward
          ? new Running(next, cursor.resumed())
          : new Compensating(next, cursor.resumed(), compensations);
    }
  }

  /** A saga that has ended: nothing is due, and no event can follow. */
  sealed interface Ended extends Started {
    @Override
    default Cursor cursor() {
      return null;
    }

    @Override
    default List<String> compensations() {
      return List.of();
    }

    @Override
    default SagaSnapshot apply(SagaEvent event) {
      throw illegal(event, status().name());
    }
  }

  /** Every step succeeded. */
  record Completed(Progress progress) implements Ended {
    @Override
    public SagaStatus status() {
      return SagaStatus.COMPLETED;
    }
  }

  /** Every step that applied (or may have) has been undone. */
  record Compensated(Progress progress) implements Ended {
    @Override
    public SagaStatus status() {
      return SagaStatus.COMPENSATED;
    }
  }

  /**
   * Undoes {@code queue} newest first, or ends compensated when it is empty. The branches of a
   * group (or fan-out) that come next in the queue are undone together.
   */
  private static Started compensate(Progress progress, List<String> queue, Instant at) {
    if (queue.isEmpty()) {
      return new Compensated(progress.at(at));
    }
    String first = queue.get(0);
    String group = progress.groupOf(first);
    if (group != null) {
      int together = 1;
      while (together < queue.size() && group.equals(progress.groupOf(queue.get(together)))) {
        together++;
      }
      var branches =
          new GroupRun(
              group,
              progress.groups().get(group),
              0,
              List.of(),
              List.of(),
              queue.subList(0, together));
      Progress next = progress.changeStep(group, s -> s.withStatus(StepStatus.COMPENSATING));
      return afterSettling(next, branches, queue.subList(together, queue.size()), at);
    }
    Progress next = progress.changeStep(first, s -> s.compensating(1, s.lastError())).at(at);
    return new Compensating(
        next, Cursor.first(Phase.COMPENSATION, first), queue.subList(1, queue.size()));
  }

  private static IllegalStateException illegal(SagaEvent event, String phase) {
    return new IllegalStateException(
        "a " + EventType.of(event).publicName() + " cannot follow a saga that is " + phase);
  }
}
