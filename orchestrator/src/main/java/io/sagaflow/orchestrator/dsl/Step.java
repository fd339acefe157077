package io.sagaflow.orchestrator.dsl;

import java.time.Duration;
import java.util.Optional;

/**
 * One validated step of a saga definition: its action, optional compensation, kind, retry policies
 * and per-attempt timeout.
 */
public record Step(
    String name,
    StepAction action,
    Optional<StepAction> compensation,
    StepKind kind,
    RetryPolicy retry,
    RetryPolicy compensationRetry,
    Duration timeout) {

  /** Starts a step description; the definition's {@code build()} validates it. */
  public static StepBuilder named(String name) {
    return new StepBuilder(name);
  }

  public boolean hasCompensation() {
    return compensation.isPresent();
  }
}
