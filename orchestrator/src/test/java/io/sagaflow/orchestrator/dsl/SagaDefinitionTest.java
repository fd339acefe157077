package io.sagaflow.orchestrator.dsl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class SagaDefinitionTest {
  private static final LocalCall NOOP =
      LocalCall.of(ctx -> CompletableFuture.completedFuture("ok"));

  private static SagaDefinition.Builder saga() {
    return SagaDefinition.builder("order");
  }

  @Test
  void buildsAnImmutableDefinitionWithDefaultsAndPerStepOverrides() {
    var definition =
        saga()
            .version(3)
            .defaultRetry(r -> r.maxAttempts(4))
            .defaultTimeout(Duration.ofSeconds(2))
            .deadline(Duration.ofMinutes(5))
            .step(Step.named("reserve").invoke(NOOP).compensateWith(NOOP))
            .step(
                Step.named("charge")
                    .invoke(NOOP)
                    .pivot()
                    .retry(r -> r.maxAttempts(9))
                    .timeout(Duration.ofSeconds(7)))
            .step(Step.named("notify").invoke(HttpCall.post("notifications", "/messages")))
            .build();

    assertThat(definition.version()).isEqualTo(3);
    assertThat(definition.deadline()).contains(Duration.ofMinutes(5));
    assertThat(definition.stepNames()).containsExactly("reserve", "charge", "notify");
    assertThat(definition.step("reserve").kind()).isEqualTo(StepKind.COMPENSATABLE);
    assertThat(definition.step("reserve").retry().maxAttempts()).isEqualTo(4);
    assertThat(definition.step("reserve").timeout()).isEqualTo(Duration.ofSeconds(2));
    assertThat(definition.step("charge").retry().maxAttempts()).isEqualTo(9);
    assertThat(definition.step("charge").retry().maxBackoff()).isEqualTo(Duration.ofSeconds(10));
    assertThat(definition.step("charge").timeout()).isEqualTo(Duration.ofSeconds(7));
    assertThat(definition.step("notify").kind()).isEqualTo(StepKind.RETRIABLE);
    assertThat(definition.step("notify").retry().unlimited()).isTrue();
    assertThat(definition.step("reserve").compensationRetry().maxAttempts()).isEqualTo(10);
    assertThatThrownBy(() -> definition.steps().add(definition.steps().get(0)))
        .isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void aPivotOrRetriableStepKeepsItsOwnRetryWhereverItIsSet() {
    var definition =
        saga()
            .defaultRetry(r -> r.maxAttempts(4).minBackoff(Duration.ofSeconds(1)))
            .step(Step.named("reserve").invoke(NOOP).compensateWith(NOOP))
            .step(Step.named("charge").invoke(NOOP).pivot().retry(r -> r.maxAttempts(3)))
            .step(Step.named("notify").invoke(NOOP).retry(r -> r.maxAttempts(6)).retriable())
            .step(Step.named("archive").invoke(NOOP).retriable().retry(r -> r.maxAttempts(7)))
            .step(Step.named("audit").invoke(NOOP).retry(r -> r.maxAttempts(8)))
            .build();
    var before =
        saga().step(Step.named("charge").invoke(NOOP).retry(r -> r.maxAttempts(3)).pivot()).build();

    assertThat(definition.step("charge").retry().maxAttempts()).isEqualTo(3);
    assertThat(before.step("charge").retry().maxAttempts()).isEqualTo(3);
    assertThat(definition.step("notify").retry().maxAttempts()).isEqualTo(6);
    assertThat(definition.step("archive").retry().maxAttempts()).isEqualTo(7);
    assertThat(definition.step("audit").kind()).isEqualTo(StepKind.RETRIABLE);
    assertThat(definition.step("audit").retry().maxAttempts()).isEqualTo(8);
    assertThat(definition.step("charge").retry().minBackoff()).isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void aPivotOrRetriableStepWithoutMaxAttemptsOfItsOwnIsRetriedWithoutLimit() {
    var definition =
        saga()
            .defaultRetry(r -> r.maxAttempts(4).minBackoff(Duration.ofSeconds(1)))
            .step(Step.named("charge").invoke(NOOP).pivot().retry(r -> r.jitter(0)))
            .step(Step.named("notify").invoke(NOOP))
            .build();

    assertThat(definition.step("charge").retry().unlimited()).isTrue();
    assertThat(definition.step("charge").retry().jitter()).isZero();
    assertThat(definition.step("charge").retry().minBackoff()).isEqualTo(Duration.ofSeconds(1));
    assertThat(definition.step("notify").retry().unlimited()).isTrue();
  }

  @Test
  void aSecondRetryCallRefinesTheFirst() {
    var definition =
        saga()
            .step(
                Step.named("reserve")
                    .invoke(NOOP)
                    .compensateWith(NOOP)
                    .retry(r -> r.maxAttempts(3))
                    .retry(
                        r -> r.minBackoff(Duration.ofSeconds(2)).maxBackoff(Duration.ofSeconds(4)))
                    .compensationRetry(r -> r.maxAttempts(20))
                    .compensationRetry(r -> r.jitter(0)))
            .build();

    RetryPolicy retry = definition.step("reserve").retry();
    assertThat(retry.maxAttempts()).isEqualTo(3);
    assertThat(retry.minBackoff()).isEqualTo(Duration.ofSeconds(2));
    assertThat(retry.maxBackoff()).isEqualTo(Duration.ofSeconds(4));
    RetryPolicy compensation = definition.step("reserve").compensationRetry();
    assertThat(compensation.maxAttempts()).isEqualTo(20);
    assertThat(compensation.jitter()).isZero();
  }

  @Test
  void rejectsADefinitionWithoutSteps() {
    assertThatThrownBy(() -> saga().build()).hasMessage("saga 'order': has no steps");
  }

  @Test
  void rejectsDuplicateStepNames() {
    assertThatThrownBy(
            () ->
                saga()
                    .step(Step.named("a").invoke(NOOP))
                    .step(Step.named("a").invoke(NOOP))
                    .build())
        .hasMessage("saga 'order' step 'a': duplicate step name");
  }

  @Test
  void rejectsACompensationAfterThePivot() {
    assertThatThrownBy(
            () ->
                saga()
                    .step(Step.named("charge").invoke(NOOP).pivot())
                    .step(Step.named("ship").invoke(NOOP).compensateWith(NOOP))
                    .build())
        .hasMessage(
            "saga 'order' step 'ship': comes after the pivot, so it cannot have a compensation");
  }

  @Test
  void rejectsACompensationOnThePivotItself() {
    assertThatThrownBy(
            () ->
                saga().step(Step.named("charge").invoke(NOOP).compensateWith(NOOP).pivot()).build())
        .hasMessageContaining("step 'charge'")
        .hasMessageContaining("cannot have a compensation");
  }

  @Test
  void rejectsARetriableStepBeforeAnyPivot() {
    assertThatThrownBy(() -> saga().step(Step.named("notify").invoke(NOOP).retriable()).build())
        .hasMessage("saga 'order' step 'notify': is retriable, so it must come after a pivot step");
  }

  @Test
  void rejectsASecondPivot() {
    assertThatThrownBy(
            () ->
                saga()
                    .step(Step.named("a").invoke(NOOP).pivot())
                    .step(Step.named("b").invoke(NOOP).pivot())
                    .build())
        .hasMessageContaining("step 'b'")
        .hasMessageContaining("one pivot");
  }

  @Test
  void rejectsNegativeBackoffNamingTheStep() {
    assertThatThrownBy(
            () ->
                saga()
                    .step(
                        Step.named("charge")
                            .invoke(NOOP)
                            .retry(r -> r.minBackoff(Duration.ofSeconds(-1))))
                    .build())
        .hasMessage(
            "saga 'order' step 'charge': retry policy: minBackoff must not be negative, was PT-1S");
  }

  @Test
  void rejectsInvertedBackoffNamingTheStep() {
    assertThatThrownBy(
            () ->
                saga()
                    .step(
                        Step.named("charge")
                            .invoke(NOOP)
                            .retry(
                                r ->
                                    r.minBackoff(Duration.ofSeconds(5))
                                        .maxBackoff(Duration.ofSeconds(1))))
                    .build())
        .hasMessage(
            "saga 'order' step 'charge': retry policy: maxBackoff (PT1S) must not be shorter than minBackoff (PT5S)");
  }

  @Test
  void rejectsZeroAttemptsNamingTheStep() {
    assertThatThrownBy(
            () ->
                saga().step(Step.named("charge").invoke(NOOP).retry(r -> r.maxAttempts(0))).build())
        .hasMessage(
            "saga 'order' step 'charge': retry policy: maxAttempts must be at least 1 (it counts the first attempt), was 0");
  }

  @Test
  void rejectsACompensationPolicyWithZeroAttempts() {
    assertThatThrownBy(
            () ->
                saga()
                    .step(
                        Step.named("reserve")
                            .invoke(NOOP)
                            .compensateWith(NOOP)
                            .compensationRetry(r -> r.maxAttempts(0)))
                    .build())
        .hasMessageStartingWith(
            "saga 'order' step 'reserve': compensation retry policy: maxAttempts");
  }

  @Test
  void rejectsAStepWithoutAction() {
    assertThatThrownBy(() -> saga().step(Step.named("charge")).build())
        .hasMessage("saga 'order' step 'charge': has no action: call invoke(...)");
  }

  @Test
  void rejectsNonPositiveTimeoutAndDeadline() {
    assertThatThrownBy(
            () -> saga().step(Step.named("charge").invoke(NOOP).timeout(Duration.ZERO)).build())
        .hasMessage("saga 'order' step 'charge': timeout must be positive, was PT0S");
    assertThatThrownBy(
            () ->
                saga().deadline(Duration.ofSeconds(-3)).step(Step.named("a").invoke(NOOP)).build())
        .hasMessage("saga 'order': deadline must be positive, was PT-3S");
  }

  @Test
  void rejectsBadNames() {
    assertThatThrownBy(
            () -> SagaDefinition.builder("Order Saga").step(Step.named("a").invoke(NOOP)).build())
        .hasMessageContaining("name must be");
    assertThatThrownBy(() -> saga().step(Step.named("a/b").invoke(NOOP)).build())
        .hasMessageContaining("step name 'a/b'");
    assertThatThrownBy(() -> HttpCall.post("Payments!", "/x"))
        .hasMessageContaining("participant name");
  }

  record Order(String orderId, int quantity) {
    Order {
      if (quantity < 1) {
        throw new IllegalArgumentException("quantity must be at least 1");
      }
    }
  }

  @Test
  void validatesInputAgainstItsType() {
    var definition = saga().inputType(Order.class).step(Step.named("a").invoke(NOOP)).build();
    var json = JsonNodeFactory.instance;

    assertThat(definition.validateInput(json.objectNode().put("orderId", "o-1").put("quantity", 2)))
        .isEmpty();
    assertThat(definition.validateInput(json.objectNode().put("orderId", "o-1").put("quantity", 0)))
        .hasValueSatisfying(p -> assertThat(p).contains("quantity must be at least 1"));
    assertThat(definition.validateInput(json.objectNode().put("orderId", "o-1")))
        .hasValueSatisfying(p -> assertThat(p).contains("quantity"));
    assertThat(
            definition.validateInput(
                json.objectNode().put("orderId", "o-1").put("quantity", 1).put("extra", true)))
        .hasValueSatisfying(p -> assertThat(p).contains("extra"));
    assertThat(definition.validateInput(json.arrayNode())).contains("input must be a JSON object");
  }
}
