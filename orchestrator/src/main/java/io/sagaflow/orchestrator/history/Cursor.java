package io.sagaflow.orchestrator.history;

import io.sagaflow.orchestrator.SagaSerializable;
import java.time.Instant;

/**
 * What is due next: an attempt of a step (or of its compensation), and when. {@code retryAt} null
 * means now (or in flight). {@code budgetStart} is the first attempt counted against the retry
 * policy, moved forward when an operator resumes.
 */
public record Cursor(Phase phase, String step, int attempt, int budgetStart, Instant retryAt)
    implements SagaSerializable {

  /** The first attempt of {@code step} in {@code phase}, due now. */
  public static Cursor first(Phase phase, String step) {
    return new Cursor(phase, step, 1, 1, null);
  }

  /** The attempts made so far that the step's retry policy counts. */
  public int attemptsInBudget() {
    return attempt - budgetStart + 1;
  }

  /** The next attempt, due at {@code at}. */
  Cursor next(Instant at) {
    return new Cursor(phase, step, attempt + 1, budgetStart, at);
  }

  /** The same attempt with nothing due: the saga waits for an operator. */
  Cursor halted() {
    return new Cursor(phase, step, attempt, budgetStart, null);
  }

  /** The next attempt after an operator's resume: due now, with a fresh retry budget. */
  Cursor resumed() {
    return new Cursor(phase, step, attempt + 1, attempt + 1, null);
  }
}
