package io.sagaflow.orchestrator.dsl;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * Describes a step: its action, compensation, kind, retry and timeout together. Values left unset
 * take the definition's defaults. Nothing here throws: the definition's {@code build()} checks
 * everything and names the saga, the step and each problem.
 *
 * @param <I> the saga's input type, as the step's actions see it
 * @param <O> the step's output type
 */
public final class StepBuilder<I, O> {
  private final StepKey<O> key;
  private StepAction<? super I> action;
  private StepAction<? super I> compensation;
  private boolean noCompensation;
  private final Set<StepKind> kinds = new LinkedHashSet<>();
  private UnaryOperator<RetryPolicy.Builder> retry = UnaryOperator.identity();
  private UnaryOperator<RetryPolicy.Builder> compensationRetry = UnaryOperator.identity();
  private Duration timeout;
  private final List<String> problems = new ArrayList<>();

  StepBuilder(StepKey<O> key) {
    this.key = key;
  }

  private StepBuilder(StepBuilder<I, O> other) {
    this.key = other.key;
    this.action = other.action;
    this.compensation = other.compensation;
    this.noCompensation = other.noCompensation;
    this.kinds.addAll(other.kinds);
    this.retry = other.retry;
    this.compensationRetry = other.compensationRetry;
    this.timeout = other.timeout;
    this.problems.addAll(other.problems);
  }

  /** What the step does. */
  public StepBuilder<I, O> invoke(StepAction<? super I> action) {
    if (action == null) {
      problems.add("invoke(null): a step needs an action");
    } else if (this.action != null) {
      problems.add("invoke(...) is called twice: a step has one action");
    }
    this.action = action;
    return this;
  }

  /**
   * What undoes the step. It must be safe to run for an action that never happened, and it runs for
   * an uncertain step too (one that may have happened and has no output), so it should address what
   * it undoes by the saga's input or earlier steps' outputs, not by this step's own output.
   */
  public StepBuilder<I, O> compensateWith(StepAction<? super I> compensation) {
    if (compensation == null) {
      problems.add("compensateWith(null): pass the action that undoes the step");
    } else if (this.compensation != null) {
      problems.add("compensateWith(...) is called twice: a step has one compensation");
    }
    this.compensation = compensation;
    return this;
  }

  /**
   * Says that the step, before the pivot, needs no compensation: it changes nothing (a read-only
   * check, a lookup). Every step before the pivot must say either this or {@link #compensateWith}.
   */
  public StepBuilder<I, O> noCompensation() {
    this.noCompensation = true;
    return this;
  }

  /** Marks the step as the saga's point of no return. */
  public StepBuilder<I, O> pivot() {
    kinds.add(StepKind.PIVOT);
    return this;
  }

  /**
   * Marks a step after the pivot (the default there): retried per its policy, never compensated.
   */
  public StepBuilder<I, O> retriable() {
    kinds.add(StepKind.RETRIABLE);
    return this;
  }

  /**
   * Refines the definition's default retry policy for this step; a second call refines the first. A
   * pivot and the steps after it start from that default with unlimited attempts: set {@code
   * maxAttempts} to bound them (once spent, the saga is {@code FAILED} for an operator).
   */
  public StepBuilder<I, O> retry(UnaryOperator<RetryPolicy.Builder> override) {
    if (override == null) {
      problems.add("retry(null): pass a function that adjusts the policy");
    } else {
      this.retry = SagaDefinition.refine(retry, override);
    }
    return this;
  }

  /**
   * Refines the definition's compensation retry policy for this step's compensation; a second call
   * refines the first.
   */
  public StepBuilder<I, O> compensationRetry(UnaryOperator<RetryPolicy.Builder> override) {
    if (override == null) {
      problems.add("compensationRetry(null): pass a function that adjusts the policy");
    } else {
      this.compensationRetry = SagaDefinition.refine(compensationRetry, override);
    }
    return this;
  }

  /**
   * How long one attempt may take, from the moment it is called. An HTTP call that has not answered
   * by then is retried (the participant dedupes by its idempotency key); a local function still
   * running is uncertain and not run again.
   */
  public StepBuilder<I, O> timeout(Duration timeout) {
    if (timeout == null) {
      problems.add("timeout(null): pass a positive duration");
    } else {
      this.timeout = timeout;
    }
    return this;
  }

  String name() {
    return key == null ? null : key.name();
  }

  /** A copy, so that changing this builder later changes no definition it was passed to. */
  StepBuilder<I, O> copy() {
    return new StepBuilder<>(this);
  }

  /**
   * The validated step.
   *
   * @throws IllegalArgumentException listing every problem (the definition names saga and step)
   */
  Step build(
      boolean afterPivot,
      RetryPolicy defaultRetry,
      RetryPolicy defaultCompensationRetry,
      Duration defaultTimeout) {
    var found = new ArrayList<>(problems);
    if (key == null) {
      found.add("has no StepKey: pass one to Step.of(...)");
    } else if (key.outputType() == null) {
      found.add("its StepKey has no output type: pass a class, or use StepKey.json(name)");
    }
    if (action == null && problems.stream().noneMatch(p -> p.startsWith("invoke("))) {
      found.add("has no action: call invoke(...)");
    }
    if (action instanceof HttpCall<?> http) {
      found.addAll(http.problems("invoke(...)"));
    } else if (action instanceof LocalCall<?> local && local.function() == null) {
      found.add("invoke(...) has a LocalCall without a function");
    }
    if (compensation instanceof HttpCall<?> http) {
      found.addAll(http.problems("compensateWith(...)"));
    } else if (compensation instanceof LocalCall<?> local && local.function() == null) {
      found.add("compensateWith(...) has a LocalCall without a function");
    }
    StepKind kind = kind(afterPivot, found);
    if (kind == StepKind.COMPENSATABLE) {
      if (compensation != null && noCompensation) {
        found.add("has both compensateWith(...) and noCompensation(): it is one or the other");
      } else if (compensation == null && !noCompensation && !problemWithCompensation()) {
        found.add(
            "comes before the pivot and has no compensation: call compensateWith(...) to undo it,"
                + " or noCompensation() if it changes nothing (a read-only check)");
      }
    } else if (compensation != null) {
      found.add(
          kind == StepKind.PIVOT
              ? "is the pivot, the point of no return, so it cannot have a compensation"
              : "comes after the pivot, so it cannot have a compensation");
    } else if (noCompensation) {
      found.add(
          (kind == StepKind.PIVOT ? "is the pivot" : "comes after the pivot")
              + ", which is never compensated: noCompensation() does not apply");
    }
    Duration effectiveTimeout = timeout != null ? timeout : defaultTimeout;
    if (effectiveTimeout.isNegative() || effectiveTimeout.isZero()) {
      found.add("timeout must be positive, was " + effectiveTimeout);
    }
    // A pivot cannot be undone and after it the saga must complete: by default both are retried
    // until they answer, whatever the definition's default says. The step's own policy refines
    // that (a pivot or a later step that spends it leaves the saga FAILED for an operator).
    RetryPolicy base =
        kind == StepKind.COMPENSATABLE
            ? defaultRetry
            : defaultRetry.toBuilder().unlimitedAttempts().build();
    Optional<RetryPolicy> stepRetry = SagaDefinition.policy("retry", retry, base, found);
    Optional<RetryPolicy> undoRetry =
        SagaDefinition.policy(
            "compensation retry", compensationRetry, defaultCompensationRetry, found);
    if (!found.isEmpty()) {
      throw new IllegalArgumentException(String.join("; ", found));
    }
    return new Step(
        key.name(),
        action,
        Optional.ofNullable(compensation),
        kind,
        stepRetry.orElseThrow(),
        undoRetry.orElseThrow(),
        effectiveTimeout,
        key.outputType());
  }

  private boolean problemWithCompensation() {
    return problems.stream().anyMatch(p -> p.startsWith("compensateWith("));
  }

  private StepKind kind(boolean afterPivot, List<String> found) {
    if (kinds.size() > 1) {
      found.add("is marked both pivot() and retriable(): a step is one or the other");
      return afterPivot ? StepKind.RETRIABLE : StepKind.PIVOT;
    }
    StepKind kind =
        kinds.isEmpty()
            ? afterPivot ? StepKind.RETRIABLE : StepKind.COMPENSATABLE
            : kinds.iterator().next();
    if (afterPivot && kind == StepKind.PIVOT) {
      found.add("is a second pivot; a saga has at most one pivot");
    } else if (!afterPivot && kind == StepKind.RETRIABLE) {
      found.add("is retriable, so it must come after a pivot step");
    }
    return kind;
  }
}
