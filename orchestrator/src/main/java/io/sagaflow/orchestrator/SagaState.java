package io.sagaflow.orchestrator;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.SagaEntity.Event;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The persisted state of one saga instance, rebuilt from its events. Immutable: every event returns
 * a new state.
 */
public sealed interface SagaState extends SagaSerializable {

  /** Whether forward steps or compensations are being driven. */
  enum Phase {
    FORWARD,
    COMPENSATION
  }

  SagaState apply(Event event);

  /** No saga with this id has been started. */
  record Empty() implements SagaState {
    @Override
    public SagaState apply(Event event) {
      if (event instanceof SagaEntity.SagaStarted s) {
        return Active.started(s);
      }
      throw new IllegalStateException("unexpected event before start: " + event);
    }
  }

  /**
   * What is due next: the attempt of a step (or compensation), and when. {@code retryAt} null means
   * now (or in flight). {@code budgetStart} is the first attempt counted against the retry policy,
   * moved forward when an operator resumes.
   */
  record Cursor(Phase phase, String step, int attempt, int budgetStart, Instant retryAt)
      implements SagaSerializable {

    int attemptsInBudget() {
      return attempt - budgetStart + 1;
    }

    Cursor next(Instant at) {
      return new Cursor(phase, step, attempt + 1, budgetStart, at);
    }
  }

  /** One step as far as the saga got with it. */
  record StepState(
      String name,
      StepStatus status,
      int attempts,
      int compensationAttempts,
      JsonNode output,
      String lastError,
      Instant startedAt,
      Instant finishedAt)
      implements SagaSerializable {

    public StepState {
      // JSON null reads back as NullNode: one spelling of "no output" keeps state equal across a
      // round trip through the journal.
      output = output == null || output.isNull() ? null : output;
    }

    static StepState running(String name, Instant at) {
      return new StepState(name, StepStatus.RUNNING, 1, 0, null, null, at, null);
    }

    StepState with(StepStatus newStatus) {
      return new StepState(
          name,
          newStatus,
          attempts,
          compensationAttempts,
          output,
          lastError,
          startedAt,
          finishedAt);
    }

    StepState attempted(int attempt, String error) {
      return new StepState(
          name,
          StepStatus.RETRYING,
          attempt,
          compensationAttempts,
          output,
          error,
          startedAt,
          finishedAt);
    }

    StepState finished(StepStatus newStatus, int attempt, JsonNode out, String error, Instant at) {
      return new StepState(
          name, newStatus, attempt, compensationAttempts, out, error, startedAt, at);
    }

    StepState compensating(int attempt, String error) {
      return new StepState(
          name, StepStatus.COMPENSATING, attempts, attempt, output, error, startedAt, finishedAt);
    }

    StepState compensationEnded(StepStatus newStatus, int attempt, String error) {
      return new StepState(
          name, newStatus, attempts, attempt, output, error, startedAt, finishedAt);
    }
  }

  /** A started saga. */
  record Active(
      String type,
      int version,
      JsonNode input,
      String fingerprint,
      String traceId,
      SagaStatus status,
      List<StepState> steps,
      Cursor cursor,
      List<String> compensations,
      Instant deadline,
      String failure,
      Set<String> commandIds,
      Instant createdAt,
      Instant updatedAt)
      implements SagaState {

    static Active started(SagaEntity.SagaStarted s) {
      return new Active(
          s.type(),
          s.version(),
          s.input(),
          s.fingerprint(),
          s.traceId(),
          SagaStatus.RUNNING,
          List.of(StepState.running(s.firstStep(), s.at())),
          new Cursor(Phase.FORWARD, s.firstStep(), 1, 1, null),
          List.of(),
          s.deadline(),
          null,
          Set.of(),
          s.at(),
          s.at());
    }

    @Override
    public SagaState apply(Event event) {
      if (event instanceof SagaEntity.StepSucceeded e) {
        return withSteps(
                replace(
                        e.step(),
                        s ->
                            s.finished(StepStatus.SUCCEEDED, e.attempt(), e.output(), null, e.at()))
                    .plus(StepState.running(e.nextStep(), e.at())))
            .moveTo(new Cursor(Phase.FORWARD, e.nextStep(), 1, 1, null), e.at());
      } else if (event instanceof SagaEntity.SagaCompleted e) {
        return withSteps(
                replace(
                        e.step(),
                        s ->
                            s.finished(StepStatus.SUCCEEDED, e.attempt(), e.output(), null, e.at()))
                    .list)
            .ended(SagaStatus.COMPLETED, failure, e.at());
      } else if (event instanceof SagaEntity.StepAttemptFailed e) {
        return withSteps(replace(e.step(), s -> s.attempted(e.attempt(), e.error())).list)
            .moveTo(cursor.next(e.retryAt()), e.at());
      } else if (event instanceof SagaEntity.StepFailed e) {
        StepStatus outcome = e.uncertain() ? StepStatus.UNCERTAIN : StepStatus.REJECTED;
        return withSteps(
                replace(e.step(), s -> s.finished(outcome, e.attempt(), null, e.error(), e.at()))
                    .list)
            .withFailure(e.reason())
            .startCompensation(e.compensations(), e.at());
      } else if (event instanceof SagaEntity.CompensationStarted e) {
        Active a = this;
        if (cursor != null && cursor.phase() == Phase.FORWARD) {
          a =
              withSteps(
                  replace(
                          cursor.step(),
                          s ->
                              s.finished(
                                  StepStatus.UNCERTAIN, s.attempts(), null, s.lastError(), e.at()))
                      .list);
        }
        return a.withFailure(e.reason())
            .withCommand(e.commandId())
            .startCompensation(e.compensations(), e.at());
      } else if (event instanceof SagaEntity.CompensationAttemptFailed e) {
        return withSteps(replace(e.step(), s -> s.compensating(e.attempt(), e.error())).list)
            .moveTo(cursor.next(e.retryAt()), e.at());
      } else if (event instanceof SagaEntity.StepCompensated e) {
        Active a =
            withSteps(
                replace(
                        e.step(),
                        s ->
                            s.compensationEnded(StepStatus.COMPENSATED, e.attempt(), s.lastError()))
                    .list);
        return a.startCompensation(compensations, e.at());
      } else if (event instanceof SagaEntity.CompensationFailed e) {
        return withSteps(
                replace(
                        e.step(),
                        s ->
                            s.compensationEnded(
                                StepStatus.COMPENSATION_FAILED, e.attempt(), e.error()))
                    .list)
            .withFailure(e.reason())
            .withStatus(SagaStatus.FAILED, e.at());
      } else if (event instanceof SagaEntity.SagaFailed e) {
        return withFailure(e.reason()).withStatus(SagaStatus.FAILED, e.at());
      } else if (event instanceof SagaEntity.SagaResumed e) {
        int attempt = cursor.attempt() + 1;
        boolean forward = cursor.phase() == Phase.FORWARD;
        StepStatus stepStatus = forward ? StepStatus.RUNNING : StepStatus.COMPENSATING;
        return withSteps(replace(cursor.step(), s -> s.with(stepStatus)).list)
            .withCommand(e.commandId())
            .withStatus(forward ? SagaStatus.RUNNING : SagaStatus.COMPENSATING, e.at())
            .moveTo(new Cursor(cursor.phase(), cursor.step(), attempt, attempt, null), e.at());
      }
      throw new IllegalStateException("unexpected event for a started saga: " + event);
    }

    public StepState step(String name) {
      return steps.stream().filter(s -> s.name().equals(name)).findFirst().orElse(null);
    }

    public boolean handledCommand(String commandId) {
      return commandIds.contains(commandId);
    }

    private Active startCompensation(List<String> queue, Instant at) {
      if (queue.isEmpty()) {
        return new Active(
            type,
            version,
            input,
            fingerprint,
            traceId,
            SagaStatus.COMPENSATED,
            steps,
            null,
            List.of(),
            deadline,
            failure,
            commandIds,
            createdAt,
            at);
      }
      String first = queue.get(0);
      List<StepState> updated = replace(first, s -> s.compensating(1, s.lastError())).list;
      return new Active(
          type,
          version,
          input,
          fingerprint,
          traceId,
          SagaStatus.COMPENSATING,
          updated,
          new Cursor(Phase.COMPENSATION, first, 1, 1, null),
          List.copyOf(queue.subList(1, queue.size())),
          deadline,
          failure,
          commandIds,
          createdAt,
          at);
    }

    private Active moveTo(Cursor next, Instant at) {
      return new Active(
          type,
          version,
          input,
          fingerprint,
          traceId,
          status,
          steps,
          next,
          compensations,
          deadline,
          failure,
          commandIds,
          createdAt,
          at);
    }

    private Active ended(SagaStatus terminal, String reason, Instant at) {
      return new Active(
          type,
          version,
          input,
          fingerprint,
          traceId,
          terminal,
          steps,
          null,
          List.of(),
          deadline,
          reason,
          commandIds,
          createdAt,
          at);
    }

    private Active withStatus(SagaStatus newStatus, Instant at) {
      return new Active(
          type,
          version,
          input,
          fingerprint,
          traceId,
          newStatus,
          steps,
          cursor,
          compensations,
          deadline,
          failure,
          commandIds,
          createdAt,
          at);
    }

    private Active withFailure(String reason) {
      return new Active(
          type,
          version,
          input,
          fingerprint,
          traceId,
          status,
          steps,
          cursor,
          compensations,
          deadline,
          reason,
          commandIds,
          createdAt,
          updatedAt);
    }

    private Active withSteps(List<StepState> newSteps) {
      return new Active(
          type,
          version,
          input,
          fingerprint,
          traceId,
          status,
          newSteps,
          cursor,
          compensations,
          deadline,
          failure,
          commandIds,
          createdAt,
          updatedAt);
    }

    private Active withCommand(String commandId) {
      if (commandId == null) {
        return this;
      }
      var ids = new HashSet<>(commandIds);
      ids.add(commandId);
      return new Active(
          type,
          version,
          input,
          fingerprint,
          traceId,
          status,
          steps,
          cursor,
          compensations,
          deadline,
          failure,
          Set.copyOf(ids),
          createdAt,
          updatedAt);
    }

    private Steps replace(String name, java.util.function.UnaryOperator<StepState> change) {
      var list = new ArrayList<StepState>(steps.size() + 1);
      boolean found = false;
      for (StepState s : steps) {
        if (s.name().equals(name)) {
          list.add(change.apply(s));
          found = true;
        } else {
          list.add(s);
        }
      }
      if (!found) {
        throw new IllegalStateException("saga has no step state for " + name);
      }
      return new Steps(List.copyOf(list));
    }

    private record Steps(List<StepState> list) {
      List<StepState> plus(StepState step) {
        var more = new ArrayList<>(list);
        more.add(step);
        return List.copyOf(more);
      }
    }
  }
}
