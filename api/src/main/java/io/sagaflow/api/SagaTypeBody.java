package io.sagaflow.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.RetryPolicy;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepAction;
import io.sagaflow.orchestrator.dsl.StepKind;
import java.time.Duration;
import java.util.Collection;
import java.util.List;

/** {@code GET /v1/saga-types/{type}}: every version of a type, its steps and their policies. */
record SagaTypeBody(String type, List<Version> versions) {

  /** One version of the type; {@code deadline} is null when the definition sets none. */
  record Version(int version, String inputType, Duration deadline, List<StepBody> steps) {}

  /**
   * One step; {@code compensation} and {@code compensationRetry} are null when it has none. {@code
   * group} names the parallel group it is a branch of, {@code fanOut} says how it runs per element
   * of a list; both are left out when they do not apply.
   */
  record StepBody(
      String name,
      StepKind kind,
      Action action,
      Action compensation,
      Retry retry,
      Retry compensationRetry,
      Duration timeout,
      @JsonInclude(JsonInclude.Include.NON_NULL) String group,
      @JsonInclude(JsonInclude.Include.NON_NULL) FanOutBody fanOut) {}

  /** How a fan-out step runs: at most {@code maxConcurrency} elements at a time. */
  record FanOutBody(int maxConcurrency, int maxElements) {}

  /** What a step calls: an HTTP participant (by name, with the method) or local code. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  record Action(String kind, String participant, String method) {
    static Action of(StepAction<?> action) {
      return action instanceof HttpCall<?> http
          ? new Action("http", http.participant(), http.method())
          : new Action("local", null, null);
    }
  }

  /** A retry policy in the DSL's vocabulary; {@code maxAttempts} is null when unlimited. */
  record Retry(
      Integer maxAttempts,
      Duration minBackoff,
      Duration maxBackoff,
      double multiplier,
      double jitter) {
    static Retry of(RetryPolicy policy) {
      return new Retry(
          policy.unlimited() ? null : policy.maxAttempts(),
          policy.minBackoff(),
          policy.maxBackoff(),
          policy.multiplier(),
          policy.jitter());
    }
  }

  /** The body for {@code type}, whose {@code definitions} are its versions, oldest first. */
  static SagaTypeBody of(String type, Collection<? extends SagaDefinition<?>> definitions) {
    return new SagaTypeBody(
        type,
        definitions.stream()
            .map(
                d ->
                    new Version(
                        d.version(),
                        d.inputType().getSimpleName(),
                        d.deadline().orElse(null),
                        d.steps().stream().map(SagaTypeBody::step).toList()))
            .toList());
  }

  private static StepBody step(Step s) {
    return new StepBody(
        s.name(),
        s.kind(),
        Action.of(s.action()),
        s.compensation().map(Action::of).orElse(null),
        Retry.of(s.retry()),
        s.hasCompensation() ? Retry.of(s.compensationRetry()) : null,
        s.timeout(),
        s.group().orElse(null),
        s.fanOut().map(f -> new FanOutBody(f.maxConcurrency(), f.maxElements())).orElse(null));
  }
}
