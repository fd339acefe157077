package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class SagaTypeBodyTest {
  private static final LocalCall<Object> LOCAL =
      LocalCall.of(ctx -> CompletableFuture.completedFuture("done"));

  /** One local step, no deadline. */
  static final SagaDefinition<?> V1 =
      SagaDefinition.builder("shapes")
          .defaultRetry(
              r ->
                  r.maxAttempts(2)
                      .minBackoff(Duration.ofMillis(100))
                      .maxBackoff(Duration.ofSeconds(1))
                      .multiplier(1.5)
                      .jitter(0.25))
          .defaultTimeout(Duration.ofSeconds(2))
          .step(Step.named("only").invoke(LOCAL).noCompensation())
          .build();

  /** A deadline, unlimited attempts, an HTTP compensation, a pivot and a step after it. */
  static final SagaDefinition<?> V2 =
      SagaDefinition.builder("shapes")
          .version(2)
          .deadline(Duration.ofHours(1))
          .defaultRetry(
              r ->
                  r.unlimitedAttempts()
                      .minBackoff(Duration.ofMillis(100))
                      .maxBackoff(Duration.ofSeconds(1))
                      .multiplier(1.5)
                      .jitter(0.25))
          .compensationRetry(
              r ->
                  r.maxAttempts(3)
                      .minBackoff(Duration.ofMillis(50))
                      .maxBackoff(Duration.ofMillis(500))
                      .multiplier(3)
                      .jitter(0))
          .defaultTimeout(Duration.ofSeconds(2))
          .step(
              Step.named("prepare")
                  .invoke(LOCAL)
                  .compensateWith(HttpCall.delete("inventory", ctx -> "/x")))
          .step(Step.named("commit").invoke(HttpCall.put("payments", ctx -> "/y")).pivot())
          .step(Step.named("notify").invoke(LOCAL))
          .build();

  private static final String RETRY =
      """
      {"maxAttempts": %s, "minBackoff": "PT0.1S", "maxBackoff": "PT1S", "multiplier": 1.5,
       "jitter": 0.25}""";

  @Test
  void describesEveryVersionStepAndPolicyAsTheApiAlwaysHas() {
    var body = SagaTypeBody.of("shapes", List.of(V1, V2));

    assertThat(ApiJson.text(ApiJson.responses().ok(200, body)))
        .isEqualTo(
            ApiJson.compact(
                """
                {"type": "shapes", "versions": [
                  {"version": 1, "inputType": "JsonNode", "deadline": null, "steps": [
                    {"name": "only", "kind": "COMPENSATABLE", "action": {"kind": "local"},
                     "compensation": null, "retry": %1$s, "compensationRetry": null,
                     "timeout": "PT2S"}]},
                  {"version": 2, "inputType": "JsonNode", "deadline": "PT1H", "steps": [
                    {"name": "prepare", "kind": "COMPENSATABLE", "action": {"kind": "local"},
                     "compensation": {"kind": "http", "participant": "inventory", "method": "DELETE"},
                     "retry": %2$s,
                     "compensationRetry": {"maxAttempts": 3, "minBackoff": "PT0.05S",
                       "maxBackoff": "PT0.5S", "multiplier": 3.0, "jitter": 0.0},
                     "timeout": "PT2S"},
                    {"name": "commit", "kind": "PIVOT",
                     "action": {"kind": "http", "participant": "payments", "method": "PUT"},
                     "compensation": null, "retry": %2$s, "compensationRetry": null,
                     "timeout": "PT2S"},
                    {"name": "notify", "kind": "RETRIABLE", "action": {"kind": "local"},
                     "compensation": null, "retry": %2$s, "compensationRetry": null,
                     "timeout": "PT2S"}]}]}
                """
                    .formatted(RETRY.formatted(2), RETRY.formatted("null"))));
  }

  @Test
  void theInputTypeIsTheDefinitionsClassBySimpleName() {
    var body = SagaTypeBody.of("strict", List.of(ApiFixture.STRICT));

    assertThat(body.versions().get(0).inputType()).isEqualTo("StrictInput");
  }
}
