package io.sagaflow.orchestrator.dsl;

import java.util.function.Function;

/**
 * A step action that runs a Java function in the orchestrator, on the engine's local-step executor
 * (a bounded pool for blocking work, {@code sagaflow.engine.local-steps}), never on the saga's own
 * thread, so a function may block. It may return its result, or a {@code CompletionStage} of it;
 * the result (any value Jackson can write, or a {@code JsonNode}) becomes the step's output.
 *
 * <p>Its step's timeout bounds each attempt from the moment it is called: a function still running
 * when it passes is <em>uncertain</em> (it may yet do its work), so it is not run again, and its
 * late result is ignored. An exception it throws (or completes with) is retried per the step's
 * policy, as is one thrown while building an HTTP step's request; {@link StepRejectedException}, or
 * a type the policy lists as {@code nonRetryable}, rejects the step.
 *
 * @param <I> the saga's input type
 */
public record LocalCall<I>(Function<StepContext<I>, ?> function) implements StepAction<I> {

  public static <I> LocalCall<I> of(Function<StepContext<I>, ?> function) {
    return new LocalCall<>(function);
  }

  @Override
  public String toString() {
    return "LocalCall";
  }
}
