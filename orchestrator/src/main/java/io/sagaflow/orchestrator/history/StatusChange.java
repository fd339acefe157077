package io.sagaflow.orchestrator.history;

import io.sagaflow.orchestrator.SagaStatus;
import java.util.List;

/**
 * What one event does to a saga's status, known from the event alone: readers that keep no fold of
 * their own (the saga index) apply it to the status they stored, and the fold agrees with it.
 */
public sealed interface StatusChange {

  StatusChange UNCHANGED = new Unchanged();
  StatusChange RESUMED = new Resumed();

  /**
   * The status after this change, given the status before it and, for a {@code FAILED} saga, the
   * status it had before it failed.
   */
  SagaStatus after(SagaStatus before, SagaStatus beforeFailure);

  /** The status stays what it was. */
  record Unchanged() implements StatusChange {
    @Override
    public SagaStatus after(SagaStatus before, SagaStatus beforeFailure) {
      return before;
    }
  }

  /** The saga is now {@code status}; {@code failure}, when not null, says why it compensates. */
  record To(SagaStatus status, String failure) implements StatusChange {
    @Override
    public SagaStatus after(SagaStatus before, SagaStatus beforeFailure) {
      return status;
    }
  }

  /**
   * The saga is {@code FAILED} for {@code reason}; a resume returns it to {@code resumesTo}, or,
   * when that is null, to the status it had when it failed.
   */
  record ToFailed(String reason, SagaStatus resumesTo) implements StatusChange {
    @Override
    public SagaStatus after(SagaStatus before, SagaStatus beforeFailure) {
      return SagaStatus.FAILED;
    }

    /** The status a resume returns to, given the status the saga had when this event came. */
    public SagaStatus resumesFrom(SagaStatus before) {
      return resumesTo != null ? resumesTo : before;
    }
  }

  /** An operator resumed the saga: it is back in the status it had before it failed. */
  record Resumed() implements StatusChange {
    @Override
    public SagaStatus after(SagaStatus before, SagaStatus beforeFailure) {
      return before == SagaStatus.FAILED ? beforeFailure : before;
    }
  }

  /** A failure or a cancel: compensating, or compensated at once when nothing is to be undone. */
  static StatusChange compensating(List<String> compensations, String reason) {
    return new To(
        compensations.isEmpty() ? SagaStatus.COMPENSATED : SagaStatus.COMPENSATING, reason);
  }
}
