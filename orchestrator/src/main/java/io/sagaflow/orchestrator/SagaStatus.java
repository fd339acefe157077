package io.sagaflow.orchestrator;

/** Where a saga instance is in its lifecycle. */
public enum SagaStatus {
  RUNNING,
  COMPENSATING,
  COMPLETED,
  COMPENSATED,
  /** A compensation exhausted its policy (or the definition vanished): an operator must act. */
  FAILED;

  public boolean isTerminal() {
    return this == COMPLETED || this == COMPENSATED;
  }
}
