package io.sagaflow.orchestrator.dsl;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Describes a parallel group: steps (its branches) that start together once the stage before the
 * group has succeeded, each with its own action, compensation, retry policy, timeout and
 * idempotency key. The group succeeds when every branch has; later steps read each branch's output
 * by its key. Nothing here throws: the definition's {@code build()} checks the group.
 *
 * @param <I> the saga's input type
 */
public final class GroupBuilder<I> {
  private final List<StepBuilder<? super I, ?>> steps = new ArrayList<>();
  private final List<String> problems = new ArrayList<>();

  GroupBuilder() {}

  /** Adds the branch {@code key} names, described by {@code spec}. */
  public <O> GroupBuilder<I> step(StepKey<O> key, UnaryOperator<StepBuilder<I, O>> spec) {
    if (key == null || spec == null) {
      problems.add("step(" + (key == null ? "null" : key.name()) + ", ...): a branch needs a key");
      return this;
    }
    StepBuilder<I, O> described;
    try {
      described = spec.apply(new StepBuilder<>(key));
    } catch (RuntimeException e) {
      problems.add("branch '" + key.name() + "': describing it threw " + e);
      return this;
    }
    if (described == null) {
      problems.add("branch '" + key.name() + "': its description returned null");
      return this;
    }
    steps.add(described.copy());
    return this;
  }

  /** Adds a branch whose output is any JSON. */
  public GroupBuilder<I> step(String name, UnaryOperator<StepBuilder<I, JsonNode>> spec) {
    return step(StepKey.json(name), spec);
  }

  /** Adds a branch described elsewhere ({@link Step#named}, {@link Step#of}); it is copied. */
  public GroupBuilder<I> step(StepBuilder<? super I, ?> step) {
    if (step == null) {
      problems.add("step(null): pass a branch description");
    } else {
      steps.add(step.copy());
    }
    return this;
  }

  List<StepBuilder<? super I, ?>> steps() {
    return steps;
  }

  List<String> problems() {
    return problems;
  }
}
