package io.sagaflow.orchestrator.dsl;

import java.lang.reflect.Type;
import java.time.Duration;
import java.util.Optional;

/**
 * One validated step of a saga definition: its action, optional compensation, kind, retry policies,
 * per-attempt timeout and output type. Only a definition's {@code build()} makes one.
 */
public final class Step {
  private final String name;
  private final StepAction<?> action;
  private final Optional<StepAction<?>> compensation;
  private final StepKind kind;
  private final RetryPolicy retry;
  private final RetryPolicy compensationRetry;
  private final Duration timeout;
  private final Type outputType;
  private final Optional<String> group;
  private final Optional<FanOut> fanOut;

  Step(
      String name,
      StepAction<?> action,
      Optional<StepAction<?>> compensation,
      StepKind kind,
      RetryPolicy retry,
      RetryPolicy compensationRetry,
      Duration timeout,
      Type outputType,
      String group,
      FanOut fanOut) {
    this.name = name;
    this.action = action;
    this.compensation = compensation;
    this.kind = kind;
    this.retry = retry;
    this.compensationRetry = compensationRetry;
    this.timeout = timeout;
    this.outputType = outputType;
    this.group = Optional.ofNullable(group);
    this.fanOut = Optional.ofNullable(fanOut);
  }

  /** The same step as a branch of the parallel group {@code groupName}. */
  Step inGroup(String groupName) {
    return new Step(
        name,
        action,
        compensation,
        kind,
        retry,
        compensationRetry,
        timeout,
        outputType,
        groupName,
        fanOut.orElse(null));
  }

  /** The parallel group this step is a branch of, if any. */
  public Optional<String> group() {
    return group;
  }

  /** How this step runs once per element of a list, when it is a fan-out. */
  public Optional<FanOut> fanOut() {
    return fanOut;
  }

  /**
   * Starts describing a step whose output is any JSON, to pass to a definition's {@code step(...)}
   * (which copies it). Its actions see the input as {@code Object}: for a typed input, declare the
   * step inside the definition, {@code .step("name", step -> step.invoke(...))}.
   */
  public static <I> StepBuilder<I, com.fasterxml.jackson.databind.JsonNode> named(String name) {
    return new StepBuilder<>(StepKey.json(name));
  }

  /** Starts describing the step {@code key} names, whose output binds to the key's type. */
  public static <I, O> StepBuilder<I, O> of(StepKey<O> key) {
    return new StepBuilder<>(key);
  }

  public String name() {
    return name;
  }

  public StepAction<?> action() {
    return action;
  }

  public Optional<StepAction<?>> compensation() {
    return compensation;
  }

  public StepKind kind() {
    return kind;
  }

  public RetryPolicy retry() {
    return retry;
  }

  public RetryPolicy compensationRetry() {
    return compensationRetry;
  }

  public Duration timeout() {
    return timeout;
  }

  /** The type the step's output binds to ({@code JsonNode}: any JSON). */
  public Type outputType() {
    return outputType;
  }

  public boolean hasCompensation() {
    return compensation.isPresent();
  }

  @Override
  public String toString() {
    return "Step{"
        + name
        + ", "
        + kind
        + ", "
        + action
        + compensation.map(c -> ", undo " + c).orElse("")
        + "}";
  }
}
