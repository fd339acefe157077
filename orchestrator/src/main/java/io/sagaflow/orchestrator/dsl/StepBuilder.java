package io.sagaflow.orchestrator.dsl;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * Describes a step: its action, compensation, kind, retry and timeout together. Values left unset
 * take the definition's defaults; {@link SagaDefinition.Builder#build()} checks everything.
 */
public final class StepBuilder {
  private final String name;
  private StepAction action;
  private StepAction compensation;
  private StepKind kind;
  private UnaryOperator<RetryPolicy.Builder> retry = UnaryOperator.identity();
  private UnaryOperator<RetryPolicy.Builder> compensationRetry = UnaryOperator.identity();
  private Duration timeout;

  StepBuilder(String name) {
    this.name = name;
  }

  /** What the step does. */
  public StepBuilder invoke(StepAction action) {
    this.action = Objects.requireNonNull(action, "action");
    return this;
  }

  /** What undoes the step; it must be safe to run for an action that never happened. */
  public StepBuilder compensateWith(StepAction compensation) {
    this.compensation = Objects.requireNonNull(compensation, "compensation");
    return this;
  }

  /** Marks the step as the saga's point of no return. */
  public StepBuilder pivot() {
    this.kind = StepKind.PIVOT;
    return this;
  }

  /** Marks a step after the pivot: retried per its policy, never compensated. */
  public StepBuilder retriable() {
    this.kind = StepKind.RETRIABLE;
    return this;
  }

  /**
   * Refines the definition's default retry policy for this step; a second call refines the first. A
   * pivot and the steps after it start from that default with unlimited attempts: set {@code
   * maxAttempts} to bound them (once spent, the saga is {@code FAILED} for an operator).
   */
  public StepBuilder retry(UnaryOperator<RetryPolicy.Builder> override) {
    this.retry = refine(retry, override);
    return this;
  }

  /**
   * Refines the definition's compensation retry policy for this step's compensation; a second call
   * refines the first.
   */
  public StepBuilder compensationRetry(UnaryOperator<RetryPolicy.Builder> override) {
    this.compensationRetry = refine(compensationRetry, override);
    return this;
  }

  private static UnaryOperator<RetryPolicy.Builder> refine(
      UnaryOperator<RetryPolicy.Builder> earlier, UnaryOperator<RetryPolicy.Builder> override) {
    Objects.requireNonNull(override, "override");
    return b -> override.apply(earlier.apply(b));
  }

  /** How long one attempt may take before it counts as a (retryable) timeout. */
  public StepBuilder timeout(Duration timeout) {
    this.timeout = Objects.requireNonNull(timeout, "timeout");
    return this;
  }

  String name() {
    return name;
  }

  Step build(
      boolean afterPivot,
      RetryPolicy defaultRetry,
      RetryPolicy defaultCompensationRetry,
      Duration defaultTimeout) {
    if (action == null) {
      throw new IllegalArgumentException("has no action: call invoke(...)");
    }
    StepKind effectiveKind =
        kind != null ? kind : afterPivot ? StepKind.RETRIABLE : StepKind.COMPENSATABLE;
    if (afterPivot && effectiveKind == StepKind.PIVOT) {
      throw new IllegalArgumentException("is a second pivot; a saga has at most one pivot");
    }
    if (afterPivot && effectiveKind != StepKind.RETRIABLE) {
      throw new IllegalArgumentException(
          "comes after the pivot, so it must be retriable, was " + effectiveKind);
    }
    if (!afterPivot && effectiveKind == StepKind.RETRIABLE) {
      throw new IllegalArgumentException("is retriable, so it must come after a pivot step");
    }
    if (compensation != null && effectiveKind != StepKind.COMPENSATABLE) {
      throw new IllegalArgumentException(
          effectiveKind == StepKind.PIVOT
              ? "is the pivot, the point of no return, so it cannot have a compensation"
              : "comes after the pivot, so it cannot have a compensation");
    }
    Duration effectiveTimeout = timeout != null ? timeout : defaultTimeout;
    if (effectiveTimeout.isNegative() || effectiveTimeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, was " + effectiveTimeout);
    }
    // A pivot cannot be undone and after it the saga must complete: by default both are retried
    // until they answer, whatever the definition's default says. The step's own policy refines
    // that (a pivot or a later step that spends it leaves the saga FAILED for an operator).
    RetryPolicy base =
        effectiveKind == StepKind.COMPENSATABLE
            ? defaultRetry
            : defaultRetry.toBuilder().unlimitedAttempts().build();
    RetryPolicy stepRetry = policy("retry", retry, base);
    return new Step(
        name,
        action,
        Optional.ofNullable(compensation),
        effectiveKind,
        stepRetry,
        policy("compensation retry", compensationRetry, defaultCompensationRetry),
        effectiveTimeout);
  }

  private static RetryPolicy policy(
      String what, UnaryOperator<RetryPolicy.Builder> override, RetryPolicy base) {
    try {
      return override.apply(base.toBuilder()).build();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(what + " policy: " + e.getMessage(), e);
    }
  }
}
