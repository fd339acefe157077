package io.sagaflow.orchestrator;

/** Where one step of a saga instance stands. */
public enum StepStatus {
  PENDING,
  RUNNING,
  /** The last attempt failed retryably; another is scheduled. */
  RETRYING,
  SUCCEEDED,
  /**
   * Refused for good: nothing was applied, so it is not compensated. After the pivot the saga is
   * {@code FAILED} on it until an operator resumes it.
   */
  REJECTED,
  /**
   * Attempts ran out without an answer, or it answered 2xx with a body that could not be read: it
   * may have happened, so before the pivot it is compensated; from the pivot on the saga is {@code
   * FAILED} on it.
   */
  UNCERTAIN,
  COMPENSATING,
  COMPENSATED,
  COMPENSATION_FAILED
}
