package io.sagaflow.orchestrator.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.sagaflow.orchestrator.dsl.AwaitSignal;
import io.sagaflow.orchestrator.dsl.FanOut;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.RetryPolicy;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepAction;
import io.sagaflow.orchestrator.dsl.StepContext;
import io.sagaflow.orchestrator.dsl.StepKey;
import io.sagaflow.orchestrator.history.Phase;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import io.sagaflow.orchestrator.history.StepSnapshot;
import io.sagaflow.orchestrator.telemetry.SagaMdc;
import java.lang.reflect.Type;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

/**
 * Runs one attempt of a step's action or compensation and classifies how it ended. HTTP calls carry
 * the participant contract's headers; the idempotency key is stable across retries and restarts.
 * Local functions run on the local-step executor, never on the calling (saga actor) thread.
 *
 * <p>User code fails the same way in both kinds of step: an exception thrown while building an HTTP
 * request, or by a local function, is retried per the policy, unless it is a {@link
 * io.sagaflow.orchestrator.dsl.StepRejectedException} or of a type the policy lists as
 * non-retryable, which rejects the step.
 */
public final class StepRunner {
  private final ParticipantClient client;
  private final ObjectMapper mapper;
  private final Executor localSteps;

  public StepRunner(ParticipantClient client, ObjectMapper mapper, Executor localSteps) {
    this.client = Objects.requireNonNull(client, "client");
    this.mapper = Objects.requireNonNull(mapper, "mapper");
    this.localSteps = Objects.requireNonNull(localSteps, "localSteps");
  }

  /**
   * One attempt to run: which saga, its definition and written state, step, phase and attempt.
   * {@code name} is what the saga calls it: the step's name, or for an element of a fan-out {@code
   * {step}/{key}}. {@code withdrawn} turns true when the saga stops on this node: an attempt not
   * yet sent (an HTTP call waiting for a connection) or not yet started (a local step queued on the
   * pool) is then dropped.
   */
  public record Invocation(
      String sagaId,
      SagaDefinition<?> definition,
      SagaSnapshot.Started state,
      Step step,
      Phase phase,
      int attempt,
      String traceparent,
      String name,
      BooleanSupplier withdrawn) {

    public Invocation {
      Objects.requireNonNull(withdrawn, "withdrawn");
    }

    /** An attempt that is never withdrawn. */
    public Invocation(
        String sagaId,
        SagaDefinition<?> definition,
        SagaSnapshot.Started state,
        Step step,
        Phase phase,
        int attempt,
        String traceparent,
        String name) {
      this(
          sagaId,
          definition,
          state,
          step,
          phase,
          attempt,
          traceparent,
          name,
          ParticipantRequest.NEVER_WITHDRAWN);
    }

    /** An attempt of a step that is no fan-out element. */
    public Invocation(
        String sagaId,
        SagaDefinition<?> definition,
        SagaSnapshot.Started state,
        Step step,
        Phase phase,
        int attempt,
        String traceparent) {
      this(sagaId, definition, state, step, phase, attempt, traceparent, step.name());
    }

    public String idempotencyKey() {
      return phase == Phase.FORWARD ? sagaId + "/" + name : sagaId + "/" + name + "/compensation";
    }

    /** The element's key, for an element of a fan-out; else null. */
    String elementKey() {
      return name.length() > step.name().length() ? name.substring(step.name().length() + 1) : null;
    }

    StepAction<?> action() {
      return phase == Phase.FORWARD ? step.action() : step.compensation().orElseThrow();
    }

    RetryPolicy policy() {
      return phase == Phase.FORWARD ? step.retry() : step.compensationRetry();
    }

    /** The saga's keys of the MDC for this attempt. */
    Map<String, String> mdc() {
      return SagaMdc.of(sagaId, state.type(), step.name(), attempt);
    }

    /** What a person reads as the call's name in an outcome's error. */
    String describeAction() {
      return action() instanceof HttpCall<?> http
          ? http.participant() + " " + http.method()
          : phase == Phase.FORWARD ? "local step" : "local compensation";
    }
  }

  /**
   * The elements of a fan-out step, computed from the written state of its saga.
   *
   * @throws RuntimeException whatever the step's list function threw
   */
  public List<?> elements(
      String sagaId, SagaDefinition<?> definition, SagaSnapshot.Started state, Step step) {
    var invocation = new Invocation(sagaId, definition, state, step, Phase.FORWARD, 1, null);
    List<?> elements = step.fanOut().orElseThrow().list().apply(new Context(invocation, mapper));
    return elements == null ? List.of() : elements;
  }

  /** Never completes exceptionally: every failure becomes an {@link Outcome}. */
  public CompletionStage<Outcome> run(Invocation invocation) {
    var context = new Context(invocation, mapper);
    CompletionStage<Outcome> outcome =
        invocation.action() instanceof HttpCall<?> http
            ? callParticipant(invocation, context, http)
            : runLocal(invocation, context, (LocalCall<?>) invocation.action());
    return invocation.phase() == Phase.FORWARD
            && invocation.elementKey() == null
            && !isJson(invocation.step().outputType())
        ? outcome.thenApply(o -> checkOutput(invocation, o))
        : outcome;
  }

  @SuppressWarnings("unchecked")
  private CompletionStage<Outcome> callParticipant(
      Invocation invocation, Context context, HttpCall<?> call) {
    var http = (HttpCall<Object>) call;
    String path;
    JsonNode body;
    try {
      path = http.path().apply(context);
      Object value = http.body() == null ? null : http.body().apply(context);
      body = value == null ? null : mapper.valueToTree(value);
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(
          classify(invocation.policy(), e, "could not build the request: "));
    }
    var headers = new HashMap<String, String>();
    headers.put("Idempotency-Key", invocation.idempotencyKey());
    headers.put("Saga-Id", invocation.sagaId());
    headers.put("Saga-Type", invocation.state().type());
    headers.put("Saga-Step", invocation.name());
    headers.put("Saga-Attempt", Integer.toString(invocation.attempt()));
    headers.put("traceparent", invocation.traceparent());
    var request =
        new ParticipantRequest(
            http.participant(),
            http.method(),
            path,
            body,
            headers,
            invocation.step().timeout(),
            invocation.withdrawn());
    return client
        .call(request)
        .exceptionally(e -> Outcome.Retryable.of("participant call failed: " + describe(e)));
  }

  /**
   * What the local-step pool is handed: one attempt of a local function, saying which (the test kit
   * records it by these).
   *
   * @param name the step's name, or {@code {step}/{key}} for an element of a fan-out
   */
  public record LocalTask(Phase phase, String name, int attempt, Runnable work)
      implements Runnable {
    @Override
    public void run() {
      work.run();
    }
  }

  /**
   * An attempt of a local step: queued on the local-step pool until a thread takes it. One still
   * queued when its timeout passes can be withdrawn, so that it never runs at all.
   */
  public static final class LocalAttempt extends CompletableFuture<Outcome> {
    private final AtomicBoolean claimed = new AtomicBoolean();

    /** Marks the attempt as running; false when it was withdrawn first. */
    boolean start() {
      return claimed.compareAndSet(false, true);
    }

    /**
     * Withdraws the attempt if no thread has taken it yet.
     *
     * @return true when it was still queued and now never runs; false when it has started
     */
    public boolean withdrawIfNotStarted() {
      return claimed.compareAndSet(false, true);
    }
  }

  @SuppressWarnings("unchecked")
  private CompletionStage<Outcome> runLocal(
      Invocation invocation, Context context, LocalCall<?> call) {
    var local = (LocalCall<Object>) call;
    RetryPolicy policy = invocation.policy();
    var attempt = new LocalAttempt();
    Runnable work =
        () -> {
          if (!attempt.start()) {
            return; // withdrawn at its timeout before a thread took it
          }
          if (invocation.withdrawn().getAsBoolean()) {
            // Its saga stopped on this node while the attempt was queued: whoever runs the saga
            // now runs the step itself.
            attempt.complete(
                Outcome.Retryable.of("not run: the saga stopped on this node before it started"));
            return;
          }
          // The user's function logs with the saga's keys, and sees its attempt's span as the
          // current one; the pool thread keeps neither after.
          try (var mdc = SagaMdc.open(invocation.mdc());
              Scope traced = attemptContext(invocation).makeCurrent()) {
            CompletionStage<?> result;
            try {
              Object value = local.function().apply(context);
              result =
                  value instanceof CompletionStage<?> stage
                      ? stage
                      : CompletableFuture.completedFuture(value);
            } catch (RuntimeException e) {
              result = CompletableFuture.failedFuture(e);
            }
            result.whenComplete(
                (value, failure) ->
                    attempt.complete(
                        failure != null
                            ? classify(policy, unwrap(failure), "")
                            : outputOf(invocation, value)));
          }
        };
    if (local.onSagaThread()) {
      work.run(); // LocalCall.nonBlocking: returns at once, on the saga's thread
      return attempt;
    }
    try {
      localSteps.execute(
          new LocalTask(invocation.phase(), invocation.name(), invocation.attempt(), work));
    } catch (RejectedExecutionException e) {
      attempt.complete(
          Outcome.Retryable.of("the local-step pool refused the call: " + describe(e)));
    }
    return attempt;
  }

  /**
   * The attempt's span as OpenTelemetry's current context, for the local function's own spans and
   * logs: {@code Span.current()} names it while the function runs on its thread.
   */
  private static io.opentelemetry.context.Context attemptContext(Invocation invocation) {
    return W3CTraceContextPropagator.getInstance()
        .extract(
            io.opentelemetry.context.Context.root(), invocation.traceparent(), TRACEPARENT_GETTER);
  }

  private static final TextMapGetter<String> TRACEPARENT_GETTER =
      new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(String traceparent) {
          return List.of("traceparent");
        }

        @Override
        public String get(String traceparent, String key) {
          return "traceparent".equals(key) ? traceparent : null;
        }
      };

  /**
   * Whether the signal step of {@code invocation} waits at all ({@link AwaitSignal#onlyIf}); runs
   * the user's condition on the calling thread, so it must be quick and pure (it reads the input
   * and earlier outputs). A condition that throws is {@code Optional.of(its outcome)}: the step is
   * rejected with the exception as the reason.
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  public Optional<Outcome> signalSkipped(Invocation invocation, AwaitSignal<?> signal) {
    if (signal.onlyIf().isEmpty()) {
      return Optional.empty();
    }
    try {
      boolean needed =
          ((java.util.function.Predicate) signal.onlyIf().get())
              .test(new Context(invocation, mapper));
      return needed ? Optional.empty() : Optional.of(new Outcome.Succeeded(NullNode.getInstance()));
    } catch (RuntimeException e) {
      return Optional.of(
          new Outcome.Permanent(
              "the condition of waiting for signal '"
                  + signal.name()
                  + "' failed: "
                  + describe(e)));
    }
  }

  /**
   * What the signal {@code payload} makes of the step: its output, or a rejection when the payload
   * does not bind to the step's output type, cannot be read as the rule's type, or the rule says
   * no.
   */
  public Outcome signalOutcome(Invocation invocation, AwaitSignal<?> signal, JsonNode payload) {
    String what = "the signal '" + signal.name() + "'";
    try {
      mapper.readerFor(mapper.constructType(invocation.step().outputType())).readValue(payload);
    } catch (java.io.IOException | IllegalArgumentException e) {
      return new Outcome.Permanent(
          what
              + " does not bind to "
              + typeName(invocation.step().outputType())
              + ": "
              + describe(e));
    }
    if (signal.payloadType().isPresent()) {
      Object read;
      try {
        read = mapper.treeToValue(payload, signal.payloadType().get());
      } catch (java.io.IOException | IllegalArgumentException e) {
        return new Outcome.Permanent(
            what + " is not a " + signal.payloadType().get().getSimpleName() + ": " + describe(e));
      }
      try {
        Optional<String> no = signal.rejection(read);
        if (no.isPresent()) {
          return new Outcome.Permanent(no.get());
        }
      } catch (RuntimeException e) {
        return new Outcome.Permanent(what + "'s rule failed: " + describe(e));
      }
    }
    return new Outcome.Succeeded(payload);
  }

  private Outcome outputOf(Invocation invocation, Object value) {
    try {
      JsonNode output = value == null ? NullNode.getInstance() : mapper.valueToTree(value);
      return new Outcome.Succeeded(output);
    } catch (IllegalArgumentException e) {
      // The action did its work and only its result is lost: running it again would repeat
      // the work, so this is uncertain, not a failed attempt.
      return new Outcome.Unreadable(
          invocation.describeAction(),
          "completed but its result could not be read: " + describe(e));
    }
  }

  /**
   * A forward step's output must bind to its key's type: one that does not was applied (a 2xx, a
   * local function that returned) but cannot be used, so it is uncertain, like a 2xx whose body
   * cannot be read.
   */
  private Outcome checkOutput(Invocation invocation, Outcome outcome) {
    if (!(outcome instanceof Outcome.Succeeded ok)) {
      return outcome;
    }
    try {
      mapper.readerFor(mapper.constructType(invocation.step().outputType())).readValue(ok.output());
      return outcome;
    } catch (java.io.IOException | IllegalArgumentException e) {
      return new Outcome.Unreadable(
          invocation.describeAction(),
          "answered, but its output does not bind to "
              + typeName(invocation.step().outputType())
              + ": "
              + describe(e));
    }
  }

  private static boolean isJson(Type type) {
    return type == JsonNode.class;
  }

  private static String typeName(Type type) {
    return type instanceof Class<?> c ? c.getSimpleName() : type.getTypeName();
  }

  private static Outcome classify(RetryPolicy policy, Throwable failure, String prefix) {
    return policy.isNonRetryable(failure)
        ? new Outcome.Permanent(prefix + describe(failure))
        : Outcome.Retryable.of(prefix + describe(failure));
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

  private static final class Context implements StepContext<Object> {
    private final Invocation invocation;
    private final ObjectMapper mapper;
    private final Map<String, JsonNode> outputs = new HashMap<>();
    private Object input;

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
      return invocation.name();
    }

    @Override
    public String elementKey() {
      return invocation.elementKey();
    }

    @Override
    @SuppressWarnings("unchecked")
    public <E> E element() {
      String key = invocation.elementKey();
      if (key == null) {
        return StepContext.super.element();
      }
      FanOut fanOut = invocation.step().fanOut().orElseThrow();
      for (Object element : fanOut.list().apply(this)) {
        if (key.equals(fanOut.key().apply(element))) {
          return (E) element;
        }
      }
      throw new IllegalStateException(
          "step '" + invocation.step().name() + "' has no element '" + key + "' in its list now");
    }

    @Override
    public int attempt() {
      return invocation.attempt();
    }

    @Override
    public synchronized Object input() {
      if (input == null) {
        input = invocation.definition().bindInput(inputJson());
      }
      return input;
    }

    @Override
    public JsonNode inputJson() {
      return invocation.state().input();
    }

    @Override
    public <O> O output(StepKey<O> step) {
      JsonNode output = output(step.name());
      if (step.isJson()) {
        @SuppressWarnings("unchecked")
        O json = (O) output;
        return json;
      }
      try {
        return mapper.readerFor(mapper.constructType(step.outputType())).readValue(output);
      } catch (java.io.IOException e) {
        throw new IllegalStateException(
            "the output of step '"
                + step.name()
                + "' does not bind to "
                + typeName(step.outputType())
                + ": "
                + describe(e),
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
