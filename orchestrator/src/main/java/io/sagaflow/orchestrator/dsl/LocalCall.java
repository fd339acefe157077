package io.sagaflow.orchestrator.dsl;

import java.util.Objects;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * A step action that runs a Java function in the orchestrator. Its result (any value Jackson can
 * write, or a {@code JsonNode}) becomes the step's output. Failing with {@link
 * StepRejectedException} (or a type the retry policy lists as non-retryable) rejects the step; any
 * other failure is retried.
 */
public record LocalCall(Function<StepContext, ? extends CompletionStage<?>> function)
    implements StepAction {

  public LocalCall {
    Objects.requireNonNull(function, "function");
  }

  public static LocalCall of(Function<StepContext, ? extends CompletionStage<?>> function) {
    return new LocalCall(function);
  }
}
