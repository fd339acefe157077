package io.sagaflow.orchestrator.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.RetryPolicy;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepAction;
import io.sagaflow.orchestrator.dsl.StepContext;
import io.sagaflow.orchestrator.history.Phase;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import io.sagaflow.orchestrator.history.StepSnapshot;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;

/**
 * Runs one attempt of a step's action or compensation and classifies how it ended. HTTP calls carry
 * the participant contract's headers; the idempotency key is stable across retries and restarts.
 */
public final class StepRunner {
  private final ParticipantClient client;
  private final ObjectMapper mapper;

  public StepRunner(ParticipantClient client, ObjectMapper mapper) {
    this.client = client;
    this.mapper = mapper;
  }

  /** One attempt to run: which saga, its written state, which step, phase and attempt. */
  public record Invocation(
      String sagaId, SagaSnapshot.Started state, Step step, Phase phase, int attempt) {

    public String idempotencyKey() {
      return phase == Phase.FORWARD
          ? sagaId + "/" + step.name()
          : sagaId + "/" + step.name() + "/compensation";
    }

    StepAction action() {
      return phase == Phase.FORWARD ? step.action() : step.compensation().orElseThrow();
    }

    RetryPolicy policy() {
      return phase == Phase.FORWARD ? step.retry() : step.compensationRetry();
    }
  }

  /** Never completes exceptionally: every failure becomes an {@link Outcome}. */
  public CompletionStage<Outcome> run(Invocation invocation) {
    StepContext context = new Context(invocation, mapper);
    try {
      StepAction action = invocation.action();
      if (action instanceof HttpCall http) {
        return callParticipant(invocation, context, http);
      }
      return runLocal(invocation, context, (LocalCall) action);
    } catch (RuntimeException e) {
      // Building the request failed (e.g. a missing output): the same code fails the same way on
      // every retry, so the step is rejected rather than retried.
      return CompletableFuture.completedFuture(
          new Outcome.Permanent("could not build the request: " + describe(e)));
    }
  }

  private CompletionStage<Outcome> callParticipant(
      Invocation invocation, StepContext context, HttpCall http) {
    Object body = http.body() == null ? null : http.body().apply(context);
    var headers = new HashMap<String, String>();
    headers.put("Idempotency-Key", invocation.idempotencyKey());
    headers.put("Saga-Id", invocation.sagaId());
    headers.put("Saga-Type", invocation.state().type());
    headers.put("Saga-Step", invocation.step().name());
    headers.put("Saga-Attempt", Integer.toString(invocation.attempt()));
    headers.put(
        "traceparent",
        "00-" + invocation.state().traceId() + "-" + Fingerprint.newSpanId() + "-01");
    var request =
        new ParticipantRequest(
            http.participant(),
            http.method(),
            http.path().apply(context),
            body == null ? null : mapper.valueToTree(body),
            headers,
            invocation.step().timeout());
    return client
        .call(request)
        .exceptionally(e -> Outcome.Retryable.of("participant call failed: " + describe(e)));
  }

  private CompletionStage<Outcome> runLocal(
      Invocation invocation, StepContext context, LocalCall local) {
    RetryPolicy policy = invocation.policy();
    CompletionStage<?> result;
    try {
      result = local.function().apply(context);
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(classify(policy, e));
    }
    if (result == null) {
      return CompletableFuture.completedFuture(
          new Outcome.Permanent("local action returned null instead of a CompletionStage"));
    }
    return result.handle(
        (value, failure) -> {
          if (failure != null) {
            return classify(policy, unwrap(failure));
          }
          try {
            JsonNode output = value == null ? NullNode.getInstance() : mapper.valueToTree(value);
            return new Outcome.Succeeded(output);
          } catch (IllegalArgumentException e) {
            // The action did its work and only its result is lost: running it again would repeat
            // the work, so this is uncertain, not a failed attempt.
            return new Outcome.Unreadable(
                "local action", "completed but its result could not be read: " + describe(e));
          }
        });
  }

  private static Outcome classify(RetryPolicy policy, Throwable failure) {
    return policy.isNonRetryable(failure)
        ? new Outcome.Permanent(describe(failure))
        : Outcome.Retryable.of(describe(failure));
  }

  private static Throwable unwrap(Throwable t) {
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static String describe(Throwable t) {
    Throwable cause = unwrap(t);
    String message = cause.getMessage();
    return message == null || message.isBlank()
        ? cause.getClass().getSimpleName()
        : cause.getClass().getSimpleName() + ": " + message;
  }

  private static final class Context implements StepContext {
    private final Invocation invocation;
    private final ObjectMapper mapper;
    private final Map<String, JsonNode> outputs = new HashMap<>();

    Context(Invocation invocation, ObjectMapper mapper) {
      this.invocation = invocation;
      this.mapper = mapper;
      for (StepSnapshot s : invocation.state().steps()) {
        if (s.output() != null) {
          outputs.put(s.name(), s.output());
        }
      }
    }

    @Override
    public String sagaId() {
      return invocation.sagaId();
    }

    @Override
    public String sagaType() {
      return invocation.state().type();
    }

    @Override
    public String step() {
      return invocation.step().name();
    }

    @Override
    public int attempt() {
      return invocation.attempt();
    }

    @Override
    public JsonNode input() {
      return invocation.state().input();
    }

    @Override
    public <T> T input(Class<T> type) {
      try {
        return mapper.treeToValue(input(), type);
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IllegalStateException(
            "saga input does not bind to " + type.getSimpleName() + ": " + e.getOriginalMessage(),
            e);
      }
    }

    @Override
    public JsonNode output(String step) {
      JsonNode output = outputs.get(step);
      if (output == null) {
        throw new IllegalStateException(
            "step '"
                + step
                + "' has no output (it has not succeeded, or is not a step of this saga)");
      }
      return output;
    }
  }
}
