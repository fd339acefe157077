package io.sagaflow.orchestrator.dsl;

/** Where a step stands relative to the saga's point of no return. */
public enum StepKind {
  /** Undone by its compensation (if it has one) when a later step fails before the pivot. */
  COMPENSATABLE,
  /**
   * The point of no return: once it succeeds the saga must complete. Never compensated; retried
   * without limit unless it sets {@code maxAttempts}, and left uncertain it makes the saga {@code
   * FAILED} for an operator (a rejected pivot compensates the steps before it).
   */
  PIVOT,
  /**
   * After the pivot: retried per its policy (without limit unless it sets {@code maxAttempts}),
   * never compensated; rejected or out of attempts, it leaves the saga {@code FAILED} for an
   * operator.
   */
  RETRIABLE
}
