package io.sagaflow.chaos;

import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepContext;
import io.sagaflow.orchestrator.dsl.StepKind;
import java.time.Duration;
import java.util.List;

/**
 * The saga every chaos run starts: two compensatable steps on two participants, a pivot and a step
 * after it, each an HTTP call to the fault-injecting participant JVM.
 *
 * <pre>
 *   reserve  (alpha, compensatable)  POST /alpha/reserve   undo POST /alpha/reserve/undo
 *   charge   (beta,  compensatable)  POST /beta/charge     undo POST /beta/charge/undo
 *   confirm  (gamma, pivot)          POST /gamma/confirm
 *   notify   (gamma, retriable)      POST /gamma/notify
 * </pre>
 *
 * <p>Each call's body is the saga's input; the participant reads the saga, step and call from the
 * {@code Idempotency-Key} ({@code {sagaId}/{step}} or {@code {sagaId}/{step}/compensation}). The
 * step timeout is {@link #STEP_TIMEOUT}: the mix's "delayed past the timeout" waits longer. The
 * pivot and the step after it get {@link #AFTER_PIVOT_ATTEMPTS} attempts, enough to outlast the 60
 * s retry storm, so that only a permanent 4xx after the pivot leaves a saga {@code FAILED}.
 */
public final class ChaosSaga {
  public static final String TYPE = "chaos";

  public static final Duration STEP_TIMEOUT = Duration.ofSeconds(2);
  public static final int AFTER_PIVOT_ATTEMPTS = 60;

  /** One step of the saga as the checker needs to know it. */
  public record StepSpec(String name, String participant, StepKind kind) {
    public String path() {
      return "/" + participant + "/" + name;
    }

    public String undoPath() {
      return path() + "/undo";
    }

    public boolean compensatable() {
      return kind == StepKind.COMPENSATABLE;
    }
  }

  /** The steps in order. */
  public static final List<StepSpec> STEPS =
      List.of(
          new StepSpec("reserve", "alpha", StepKind.COMPENSATABLE),
          new StepSpec("charge", "beta", StepKind.COMPENSATABLE),
          new StepSpec("confirm", "gamma", StepKind.PIVOT),
          new StepSpec("notify", "gamma", StepKind.RETRIABLE));

  /** The participants' names, each configured as {@code SAGAFLOW_PARTICIPANTS_<NAME>_URL}. */
  public static final List<String> PARTICIPANTS = List.of("alpha", "beta", "gamma");

  private ChaosSaga() {}

  public static StepSpec step(String name) {
    return STEPS.stream()
        .filter(s -> s.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no chaos step '" + name + "'"));
  }

  public static SagaDefinition<?> definition() {
    var builder =
        SagaDefinition.builder(TYPE)
            .version(1)
            .defaultTimeout(STEP_TIMEOUT)
            .defaultRetry(
                r -> r.minBackoff(Duration.ofMillis(200)).maxBackoff(Duration.ofSeconds(3)))
            .compensationRetry(
                r ->
                    r.maxAttempts(AFTER_PIVOT_ATTEMPTS)
                        .minBackoff(Duration.ofMillis(200))
                        .maxBackoff(Duration.ofSeconds(3)));
    for (StepSpec spec : STEPS) {
      var step =
          Step.named(spec.name())
              .invoke(HttpCall.post(spec.participant(), spec.path(), StepContext::inputJson));
      switch (spec.kind()) {
        case COMPENSATABLE ->
            step.compensateWith(
                HttpCall.post(spec.participant(), spec.undoPath(), StepContext::inputJson));
        case PIVOT -> step.pivot().retry(r -> r.maxAttempts(AFTER_PIVOT_ATTEMPTS));
        case RETRIABLE -> step.retriable().retry(r -> r.maxAttempts(AFTER_PIVOT_ATTEMPTS));
      }
      builder.step(step);
    }
    return builder.build();
  }
}
