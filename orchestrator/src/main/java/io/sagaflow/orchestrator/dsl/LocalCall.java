package io.sagaflow.orchestrator.dsl;

import java.util.function.Function;

/**
 * A step action that runs a Java function in the orchestrator. {@link #of} runs it on the engine's
 * local-step executor (a bounded pool for blocking work, {@code sagaflow.engine.local-steps}),
 * never on the saga's own thread, so a function may block. {@link #nonBlocking} runs it on the
 * saga's own thread, for a function that returns at once. Either may return its result, or a {@code
 * CompletionStage} of it; the result (any value Jackson can write, or a {@code JsonNode}) becomes
 * the step's output.
 *
 * <p>Its step's timeout bounds each attempt from the moment it is called: a function still running
 * when it passes is <em>uncertain</em> (it may yet do its work), so it is not run again, and its
 * late result is ignored. An exception it throws (or completes with) is retried per the step's
 * policy, as is one thrown while building an HTTP step's request; {@link StepRejectedException}, or
 * a type the policy lists as {@code nonRetryable}, rejects the step.
 *
 * @param <I> the saga's input type
 * @param function what the step does
 * @param onSagaThread true when the function runs on the saga's own thread ({@link #nonBlocking})
 */
public record LocalCall<I>(Function<StepContext<I>, ?> function, boolean onSagaThread)
    implements StepAction<I> {

  /** A function that may block: it runs on the local-step pool. */
  public static <I> LocalCall<I> of(Function<StepContext<I>, ?> function) {
    return new LocalCall<>(function, false);
  }

  /**
   * A function that returns at once: it works in memory, or starts asynchronous work and returns
   * its {@code CompletionStage}. It runs on the saga's own thread, which saves two hand-overs
   * between threads per attempt (to the local-step pool and back); a saga of three such steps run
   * one at a time finishes sooner and costs less CPU. It must not block (no JDBC, no blocking HTTP
   * client, no {@code join()}, no lock that others hold long): while it runs, its saga and the
   * others that share that thread wait, and its step's timeout cannot fire before it returns. When
   * in doubt, use {@link #of}.
   */
  public static <I> LocalCall<I> nonBlocking(Function<StepContext<I>, ?> function) {
    return new LocalCall<>(function, true);
  }

  @Override
  public String toString() {
    return onSagaThread ? "LocalCall (non-blocking)" : "LocalCall";
  }
}
