package io.sagaflow.orchestrator.dsl;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
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
  private Function<StepContext<?>, List<?>> forEachList;
  private Function<Object, String> forEachKey;
  private Integer maxConcurrency;
  private Integer maxElements;
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
    this.forEachList = other.forEachList;
    this.forEachKey = other.forEachKey;
    this.maxConcurrency = other.maxConcurrency;
    this.maxElements = other.maxElements;
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
   * Makes this a signal step: it waits for {@code signal} (see {@link AwaitSignal}), at most its
   * {@link #timeout}. The same as {@code invoke(signal)}.
   */
  public StepBuilder<I, O> awaitSignal(AwaitSignal<? super I> signal) {
    return invoke(signal);
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

  /**
   * Makes this step a fan-out: it runs once per element of {@code list} (taken from the input or an
   * earlier step's output), each element a branch of its own with its own attempts, retries,
   * timeout, compensation and idempotency key {@code {sagaId}/{step}/{key}}, at most {@link
   * #maxConcurrency} at a time. An action reads its element with {@code ctx.element()}. The step's
   * output is the list of the elements' outputs, in the list's order (so its key's type is a list,
   * or JSON). The step fails like a parallel group: a rejected or uncertain element starts no
   * further element, and the elements that succeeded or may have are undone together.
   *
   * @param list computes the elements from the context; it is computed again after a restart, so
   *     the same input and outputs must give the same list
   * @param key an element's key: 1-100 letters, digits, '.', '_', ':' or '-', unique in the list (a
   *     list that breaks this rule, or is longer than {@link #maxElements}, rejects the step)
   */
  @SuppressWarnings("unchecked")
  public <E> StepBuilder<I, O> forEach(
      Function<StepContext<I>, ? extends List<E>> list, Function<? super E, String> key) {
    if (list == null || key == null) {
      problems.add("forEach(...) needs a function giving the list and one giving an element's key");
    } else if (forEachList != null) {
      problems.add("forEach(...) is called twice: a fan-out has one list");
    } else {
      this.forEachList = ctx -> list.apply((StepContext<I>) ctx);
      this.forEachKey = element -> key.apply((E) element);
    }
    return this;
  }

  /** How many elements of a fan-out run at a time (default 8). */
  public StepBuilder<I, O> maxConcurrency(int maxConcurrency) {
    if (maxConcurrency < 1) {
      problems.add("maxConcurrency must be at least 1, was " + maxConcurrency);
    }
    this.maxConcurrency = maxConcurrency;
    return this;
  }

  /**
   * The longest list a fan-out takes (default 1000): a longer one rejects the step, with the length
   * as the reason, before any element runs.
   */
  public StepBuilder<I, O> maxElements(int maxElements) {
    if (maxElements < 1) {
      problems.add("maxElements must be at least 1, was " + maxElements);
    }
    this.maxElements = maxElements;
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
    if (action instanceof AwaitSignal<?> signal) {
      found.addAll(signal.problems("invoke(...)"));
      if (compensation != null) {
        found.add("waits for a signal, which changes nothing: it cannot have a compensation");
      }
      if (forEachList != null) {
        found.add("waits for a signal: it cannot be a fan-out");
      }
    }
    if (compensation instanceof AwaitSignal<?>) {
      found.add("compensateWith(...) is given a signal: a compensation calls, it does not wait");
    } else if (compensation instanceof HttpCall<?> http) {
      found.addAll(http.problems("compensateWith(...)"));
    } else if (compensation instanceof LocalCall<?> local && local.function() == null) {
      found.add("compensateWith(...) has a LocalCall without a function");
    }
    StepKind kind = kind(afterPivot, found);
    if (kind == StepKind.COMPENSATABLE) {
      if (compensation != null && noCompensation) {
        found.add("has both compensateWith(...) and noCompensation(): it is one or the other");
      } else if (compensation == null
          && !noCompensation
          && !(action instanceof AwaitSignal<?>)
          && !problemWithCompensation()) {
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
    if (forEachList == null && (maxConcurrency != null || maxElements != null)) {
      found.add(
          "sets maxConcurrency(...) or maxElements(...) but is no fan-out: call forEach(...)");
    }
    if (forEachList != null && kind == StepKind.PIVOT) {
      found.add("is the pivot, which runs once: a pivot cannot be a fan-out");
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
        key.outputType(),
        null,
        forEachList == null
            ? null
            : new FanOut(
                forEachList,
                forEachKey,
                maxConcurrency != null ? maxConcurrency : FanOut.DEFAULT_MAX_CONCURRENCY,
                maxElements != null ? maxElements : FanOut.DEFAULT_MAX_ELEMENTS));
  }

  /** Whether this step is marked the pivot (checked by a group, which cannot hold one). */
  boolean markedPivot() {
    return kinds.contains(StepKind.PIVOT);
  }

  /** Whether this step waits for a signal (a group's branch cannot). */
  boolean isSignal() {
    return action instanceof AwaitSignal<?>;
  }

  /** Whether this step is a fan-out (a group's branch cannot be one). */
  boolean isFanOut() {
    return forEachList != null;
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
