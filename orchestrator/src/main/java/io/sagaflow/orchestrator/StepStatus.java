package io.sagaflow.orchestrator;

/** Where one step of a saga instance stands. */
public enum StepStatus {
  PENDING,
  RUNNING,
  /** The last attempt failed retryably; another is scheduled. */
  RETRYING,
  SUCCEEDED,
  /** Refused for good: nothing was applied, so it is not compensated. */
  REJECTED,
  /** Attempts ran out without an answer: it may have happened, so it is compensated. */
  UNCERTAIN,
  COMPENSATING,
  COMPENSATED,
  COMPENSATION_FAILED
}
