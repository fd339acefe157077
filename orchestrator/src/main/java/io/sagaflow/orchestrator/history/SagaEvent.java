package io.sagaflow.orchestrator.history;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.SagaSerializable;
import io.sagaflow.orchestrator.SagaStatus;
import java.time.Instant;
import java.util.List;

/**
 * What happened to a saga: the records the journal keeps, one per transition. Events name steps,
 * never indices, and are never edited: an incompatible change ships a {@code JacksonMigration}
 * keyed on {@link #schemaVersion()} (see the package documentation).
 */
public sealed interface SagaEvent extends SagaSerializable {

  Instant at();

  /** What this event does to the saga's status: the one rule every reader of the journal uses. */
  @JsonIgnore
  StatusChange statusChange();

  /** Whether the saga's status changes with this event; such events feed the saga index. */
  @JsonIgnore
  default boolean changesStatus() {
    return !(statusChange() instanceof StatusChange.Unchanged);
  }

  /** Written into every event's JSON so that migrations can tell old shapes apart. */
  @JsonProperty("schemaVersion")
  default int schemaVersion() {
    return 1;
  }

  /**
   * The saga was accepted; its first step is due now. {@code traceId} is its trace (32 hex digits);
   * {@code parentSpanId} the span its attempts are children of: the saga's start span when the node
   * traces, else the span of the request that started it when that request carried a {@code
   * traceparent} (null otherwise, and in events written before it was kept).
   */
  record SagaStarted(
      String type,
      int version,
      JsonNode input,
      String fingerprint,
      String traceId,
      String parentSpanId,
      String firstStep,
      Instant deadline,
      Instant at)
      implements SagaEvent {
    @Override
    public StatusChange statusChange() {
      return new StatusChange.To(SagaStatus.RUNNING, null);
    }
  }

  /** A step succeeded and the next one is due now: one write for both. */
  record StepSucceeded(String step, int attempt, JsonNode output, String nextStep, Instant at)
      implements SagaEvent {
    @Override
    public StatusChange statusChange() {
      return StatusChange.UNCHANGED;
    }
  }

  /** The last step succeeded: the saga is complete. */
  record SagaCompleted(String step, int attempt, JsonNode output, Instant at) implements SagaEvent {
    @Override
    public StatusChange statusChange() {
      return new StatusChange.To(SagaStatus.COMPLETED, null);
    }
  }

  /** An attempt failed retryably; the next one is due at {@code retryAt}. */
  record StepAttemptFailed(String step, int attempt, String error, Instant retryAt, Instant at)
      implements SagaEvent {
    @Override
    public StatusChange statusChange() {
      return StatusChange.UNCHANGED;
    }
  }

  /**
   * A step was rejected, or gave no answer before its attempts ran out ({@code uncertain}); the
   * listed steps are compensated, newest first.
   */
  record StepFailed(
      String step,
      int attempt,
      String error,
      boolean uncertain,
      String reason,
      List<String> compensations,
      Instant at)
      implements SagaEvent {
    @Override
    public StatusChange statusChange() {
      return StatusChange.compensating(compensations, reason);
    }
  }

  /**
   * After the pivot, a step was rejected, or its attempts ran out without an answer ({@code
   * uncertain}): the saga never compensates past its pivot, so it waits for an operator, whose
   * resume calls this step again with a fresh retry budget. Also a pivot left uncertain (it may
   * have happened and cannot be undone); a rejected pivot is a {@link StepFailed}.
   */
  record StepFailedAfterPivot(
      String step, int attempt, String error, boolean uncertain, String reason, Instant at)
      implements SagaEvent {
    @Override
    public StatusChange statusChange() {
      return new StatusChange.ToFailed(reason, SagaStatus.RUNNING);
    }
  }

  /**
   * Compensation began for a cancel or the deadline; the step in flight counts as uncertain. In a
   * parallel group, {@code awaiting} names the branches whose attempt was out: their answers decide
   * whether they are undone (null, as in every event written before groups existed, means none).
   */
  record CompensationStarted(
      String reason,
      String commandId,
      List<String> compensations,
      List<String> awaiting,
      Instant at)
      implements SagaEvent {

    /** A cancel or deadline outside a parallel group. */
    public CompensationStarted(
        String reason, String commandId, List<String> compensations, Instant at) {
      this(reason, commandId, compensations, null, at);
    }

    @Override
    public StatusChange statusChange() {
      return StatusChange.compensating(compensations, reason);
    }
  }

  /** A compensation attempt failed retryably; the next one is due at {@code retryAt}. */
  record CompensationAttemptFailed(
      String step, int attempt, String error, Instant retryAt, Instant at) implements SagaEvent {
    @Override
    public StatusChange statusChange() {
      return StatusChange.UNCHANGED;
    }
  }

  /**
   * A step was undone; the next compensation (if any) is due now. {@code sagaCompensated} says it
   * was the last one, so that readers of the journal need no state to know the saga's status.
   * {@code unreadable}, when not null, says why the compensation's 2xx answer could not be read (a
   * 2xx means the undo was applied); null, as in every event written before it existed, means the
   * answer was read.
   */
  record StepCompensated(
      String step, int attempt, boolean sagaCompensated, String unreadable, Instant at)
      implements SagaEvent {

    /** A compensation whose answer was read. */
    public StepCompensated(String step, int attempt, boolean sagaCompensated, Instant at) {
      this(step, attempt, sagaCompensated, null, at);
    }

    @Override
    public StatusChange statusChange() {
      return sagaCompensated
          ? new StatusChange.To(SagaStatus.COMPENSATED, null)
          : StatusChange.UNCHANGED;
    }
  }

  /**
   * The compensation of {@code step} is left out: a cancel or the deadline came while its forward
   * call (attempt {@code attempt}) was out, the saga waited for that call's answer, and the call
   * was rejected ({@code error}), so it applied nothing and there is nothing to undo. The next
   * compensation (if any) is due now; {@code sagaCompensated} says this was the last one.
   */
  record CompensationSkipped(
      String step, int attempt, String error, boolean sagaCompensated, Instant at)
      implements SagaEvent {
    @Override
    public StatusChange statusChange() {
      return sagaCompensated
          ? new StatusChange.To(SagaStatus.COMPENSATED, null)
          : StatusChange.UNCHANGED;
    }
  }

  /** A compensation was rejected or ran out of attempts: the saga waits for an operator. */
  record CompensationFailed(String step, int attempt, String error, String reason, Instant at)
      implements SagaEvent {
    @Override
    public StatusChange statusChange() {
      return new StatusChange.ToFailed(reason, SagaStatus.COMPENSATING);
    }
  }

  /** The saga cannot go on (e.g. its definition version is gone); an operator must act. */
  record SagaFailed(String reason, Instant at) implements SagaEvent {
    @Override
    public StatusChange statusChange() {
      return new StatusChange.ToFailed(reason, null);
    }
  }

  /**
   * The signal {@code signal} arrived with {@code payload} (JSON null for none), delivered under
   * {@code commandId} (its {@code Idempotency-Key}): kept until the step that waits for it takes
   * it, which it does at once when the saga already waits there (that step's outcome is the next
   * event). Only a {@code RUNNING} saga takes a signal.
   */
  record SignalReceived(String signal, JsonNode payload, String commandId, Instant at)
      implements SagaEvent {
    @Override
    public StatusChange statusChange() {
      return StatusChange.UNCHANGED;
    }
  }

  /** An operator resumed a {@code FAILED} saga with a fresh retry budget. */
  record SagaResumed(String commandId, Instant at) implements SagaEvent {
    @Override
    public StatusChange statusChange() {
      return StatusChange.RESUMED;
    }
  }

  /**
   * The saga reached a parallel group, or a fan-out whose list gave {@code branches} (each named
   * {@code {step}/{key}}): the first {@code maxConcurrency} of them (all when 0) are due now, the
   * others start as earlier ones succeed.
   */
  record BranchesStarted(String step, List<String> branches, int maxConcurrency, Instant at)
      implements SagaEvent {
    @Override
    public StatusChange statusChange() {
      return StatusChange.UNCHANGED;
    }
  }

  /**
   * A branch of a parallel group (or an element of a fan-out) succeeded. When it was the group's
   * last, the group succeeded too, and in the same write the next stage is due ({@code nextStep})
   * or the saga is complete ({@code sagaCompleted}). While its group compensates, it is the answer
   * of an attempt the compensations waited for: the branch applied, so it is undone.
   */
  record BranchSucceeded(
      String step, int attempt, JsonNode output, String nextStep, boolean sagaCompleted, Instant at)
      implements SagaEvent {
    @Override
    public StatusChange statusChange() {
      return sagaCompleted
          ? new StatusChange.To(SagaStatus.COMPLETED, null)
          : StatusChange.UNCHANGED;
    }
  }

  /**
   * A branch was rejected, or is uncertain, before the pivot: no further branch starts. {@code
   * compensations} lists what may need undoing: the group's branches that succeeded or may have
   * (undone together, once the branches in {@code awaiting}, whose attempts were out, have
   * answered) then the steps before the group, newest first.
   */
  record BranchFailed(
      String step,
      int attempt,
      String error,
      boolean uncertain,
      String reason,
      List<String> compensations,
      List<String> awaiting,
      Instant at)
      implements SagaEvent {
    @Override
    public StatusChange statusChange() {
      return StatusChange.compensating(compensations, reason);
    }
  }

  /**
   * While its group compensates, a branch's attempt that was out failed: rejected (it applied
   * nothing and is not undone) or otherwise ({@code uncertain}: undone with the others). {@code
   * sagaCompensated} says nothing at all was left to undo.
   */
  record BranchSettled(
      String step,
      int attempt,
      String error,
      boolean uncertain,
      boolean sagaCompensated,
      Instant at)
      implements SagaEvent {
    @Override
    public StatusChange statusChange() {
      return sagaCompensated
          ? new StatusChange.To(SagaStatus.COMPENSATED, null)
          : StatusChange.UNCHANGED;
    }
  }
}
