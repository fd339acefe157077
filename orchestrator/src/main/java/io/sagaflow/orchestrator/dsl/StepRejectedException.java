package io.sagaflow.orchestrator.dsl;

/**
 * Thrown (or completed exceptionally) by a local action to say the request is refused for good: the
 * step is rejected without retry, and nothing was applied.
 */
public class StepRejectedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public StepRejectedException(String message) {
    super(message);
  }
}
