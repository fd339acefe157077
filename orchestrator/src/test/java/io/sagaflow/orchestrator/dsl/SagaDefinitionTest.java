package io.sagaflow.orchestrator.dsl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class SagaDefinitionTest {
  private static final LocalCall<Object> NOOP =
      LocalCall.of(ctx -> CompletableFuture.completedFuture("ok"));

  private static SagaDefinition.Builder<JsonNode> saga() {
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
                    .step(Step.named("a").invoke(NOOP).noCompensation())
                    .step(Step.named("a").invoke(NOOP).noCompensation())
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
                            .noCompensation()
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
                            .noCompensation()
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
                saga()
                    .step(
                        Step.named("charge")
                            .invoke(NOOP)
                            .noCompensation()
                            .retry(r -> r.maxAttempts(0)))
                    .build())
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
    assertThatThrownBy(() -> saga().step(Step.named("charge").noCompensation()).build())
        .hasMessage("saga 'order' step 'charge': has no action: call invoke(...)");
  }

  @Test
  void rejectsNonPositiveTimeoutAndDeadline() {
    assertThatThrownBy(
            () ->
                saga()
                    .step(Step.named("charge").invoke(NOOP).noCompensation().timeout(Duration.ZERO))
                    .build())
        .hasMessage("saga 'order' step 'charge': timeout must be positive, was PT0S");
    assertThatThrownBy(
            () ->
                saga()
                    .deadline(Duration.ofSeconds(-3))
                    .step(Step.named("a").invoke(NOOP).noCompensation())
                    .build())
        .hasMessage("saga 'order': deadline must be positive, was PT-3S");
  }

  @Test
  void rejectsBadNames() {
    assertThatThrownBy(
            () ->
                SagaDefinition.builder("Order Saga")
                    .step(Step.named("a").invoke(NOOP).noCompensation())
                    .build())
        .hasMessageContaining("name must be");
    assertThatThrownBy(() -> saga().step(Step.named("a/b").invoke(NOOP).noCompensation()).build())
        .hasMessageContaining("step name 'a/b'");
    assertThatThrownBy(
            () ->
                saga()
                    .step(Step.named("a").invoke(HttpCall.post("Payments!", "/x")).noCompensation())
                    .build())
        .hasMessage(
            "saga 'order' step 'a': invoke(...) calls participant 'Payments!': a participant name"
                + " is 1-63 lower-case letters, digits and '-'");
  }

  @Test
  void theDefinitionsCompensationRetryStartsFromTheCompensationDefault() {
    var definition =
        saga()
            .compensationRetry(r -> r.maxAttempts(30))
            .step(Step.named("reserve").invoke(NOOP).compensateWith(NOOP))
            .build();

    RetryPolicy undo = definition.step("reserve").compensationRetry();
    assertThat(undo.maxAttempts()).isEqualTo(30);
    assertThat(undo.minBackoff()).isEqualTo(RetryPolicy.COMPENSATION_DEFAULT.minBackoff());
    assertThat(undo.maxBackoff()).isEqualTo(Duration.ofSeconds(30));
  }

  @Test
  void aSecondDefinitionLevelCallRefinesTheFirst() {
    var definition =
        saga()
            .defaultRetry(r -> r.maxAttempts(3))
            .defaultRetry(r -> r.jitter(0))
            .compensationRetry(r -> r.maxAttempts(40))
            .compensationRetry(r -> r.multiplier(3))
            .step(Step.named("reserve").invoke(NOOP).compensateWith(NOOP))
            .build();

    assertThat(definition.step("reserve").retry().maxAttempts()).isEqualTo(3);
    assertThat(definition.step("reserve").retry().jitter()).isZero();
    assertThat(definition.step("reserve").compensationRetry().maxAttempts()).isEqualTo(40);
    assertThat(definition.step("reserve").compensationRetry().multiplier()).isEqualTo(3.0);
  }

  @Test
  void aStepsNonRetryableTypesAddToTheDefinitions() {
    var definition =
        saga()
            .defaultRetry(r -> r.nonRetryable(IllegalArgumentException.class))
            .step(
                Step.named("reserve")
                    .invoke(NOOP)
                    .compensateWith(NOOP)
                    .retry(r -> r.nonRetryable(UnsupportedOperationException.class)))
            .build();

    assertThat(definition.step("reserve").retry().nonRetryable())
        .containsExactlyInAnyOrder(
            StepRejectedException.class,
            IllegalArgumentException.class,
            UnsupportedOperationException.class);
  }

  @Test
  void aStepBuilderChangedAfterItWasAddedChangesNothing() {
    var reserve = Step.named("reserve").invoke(NOOP).compensateWith(NOOP);
    var builder = saga().step(reserve);
    reserve.timeout(Duration.ofSeconds(1)).retry(r -> r.maxAttempts(1));

    var definition = builder.build();

    assertThat(definition.step("reserve").timeout()).isEqualTo(Duration.ofSeconds(10));
    assertThat(definition.step("reserve").retry().maxAttempts()).isEqualTo(5);
  }

  @Test
  void aStepMarkedBothPivotAndRetriableIsRejectedByName() {
    assertThatThrownBy(
            () -> saga().step(Step.named("charge").invoke(NOOP).pivot().retriable()).build())
        .hasMessage(
            "saga 'order' step 'charge': is marked both pivot() and retriable(): a step is one or"
                + " the other");
    assertThatThrownBy(
            () -> saga().step(Step.named("charge").invoke(NOOP).retriable().pivot()).build())
        .hasMessageContaining("is marked both pivot() and retriable()");
  }

  @Test
  void aStepBeforeThePivotMustSayHowItIsUndoneOrThatItNeedsNothing() {
    assertThatThrownBy(() -> saga().step(Step.named("check").invoke(NOOP)).build())
        .hasMessage(
            "saga 'order' step 'check': comes before the pivot and has no compensation: call"
                + " compensateWith(...) to undo it, or noCompensation() if it changes nothing (a"
                + " read-only check)");
    assertThatThrownBy(
            () ->
                saga()
                    .step(Step.named("check").invoke(NOOP).compensateWith(NOOP).noCompensation())
                    .build())
        .hasMessageContaining("has both compensateWith(...) and noCompensation()");
    assertThatThrownBy(
            () -> saga().step(Step.named("charge").invoke(NOOP).pivot().noCompensation()).build())
        .hasMessageContaining("is the pivot, which is never compensated");

    var definition =
        saga()
            .step(Step.named("check").invoke(NOOP).noCompensation())
            .step(Step.named("charge").invoke(NOOP).pivot())
            .step(Step.named("notify").invoke(NOOP))
            .build();
    assertThat(definition.step("check").hasCompensation()).isFalse();
    assertThat(definition.step("notify").kind()).isEqualTo(StepKind.RETRIABLE);
  }

  @Test
  void nothingThrowsBeforeBuildWhichNamesTheSagaTheStepAndEveryProblem() {
    // Each of these threw at once, naming neither saga nor step.
    var bad = new HttpCall<Object>("Accounts", "PSOT", null, null);
    var builder =
        saga()
            .defaultTimeout(null)
            .step(Step.named("open").invoke(bad).compensateWith(null))
            .step(Step.named("close").invoke(null).noCompensation().retry(null));

    assertThatThrownBy(builder::build)
        .hasMessage("saga 'order': defaultTimeout(null): pass a positive duration");
    var steps =
        saga()
            .step(Step.named("open").invoke(bad).compensateWith(null))
            .step(Step.named("close").invoke(null).noCompensation().retry(null));
    assertThatThrownBy(steps::build)
        .hasMessage(
            String.join(
                "\n",
                "saga 'order' step 'open': compensateWith(null): pass the action that undoes the"
                    + " step; invoke(...) calls participant 'Accounts': a participant name is"
                    + " 1-63 lower-case letters, digits and '-'; invoke(...) uses method 'PSOT';"
                    + " it must be one of [DELETE, GET, PATCH, POST, PUT]; invoke(...) has no path",
                "saga 'order' step 'close': invoke(null): a step needs an action; retry(null):"
                    + " pass a function that adjusts the policy"));
  }

  @Test
  void onlyBuildMakesStepsAndDefinitions() {
    // A public constructor would make a step or a definition that no build() has checked.
    assertThat(Step.class.getConstructors()).isEmpty();
    assertThat(SagaDefinition.class.getConstructors()).isEmpty();
    assertThat(StepBuilder.class.getConstructors()).isEmpty();
    assertThat(RetryPolicy.class.getConstructors()).isEmpty();
  }

  @Test
  void aStepKeyWithoutAnOutputTypeIsABuildError() {
    StepKey<Reserved> untyped = StepKey.of("reserve", (Class<Reserved>) null);
    assertThatThrownBy(
            () -> saga().step(untyped, step -> step.invoke(NOOP).compensateWith(NOOP)).build())
        .hasMessage(
            "saga 'order' step 'reserve': its StepKey has no output type: pass a class, or use"
                + " StepKey.json(name)");
  }

  @Test
  void anExceptionInAPolicyFunctionIsReportedForItsStep() {
    assertThatThrownBy(
            () ->
                saga()
                    .step(
                        Step.named("reserve")
                            .invoke(NOOP)
                            .compensateWith(NOOP)
                            .retry(r -> r.nonRetryable((Class<? extends Throwable>) null)))
                    .build())
        .hasMessageStartingWith("saga 'order' step 'reserve': retry policy: ");
  }

  @Test
  void aTypedDefinitionDeclaresItsStepsWithTheirKeys() {
    StepKey<Reserved> reserve = StepKey.of("reserve", Reserved.class);
    SagaDefinition<Order> definition =
        SagaDefinition.builder("order", Order.class)
            .step(
                reserve,
                step ->
                    step.invoke(
                            HttpCall.post(
                                "inventory",
                                "/reservations",
                                ctx -> Map.of("id", ctx.input().orderId())))
                        .compensateWith(
                            HttpCall.post(
                                "inventory", ctx -> "/reservations/" + ctx.input().orderId())))
            .step(
                "ship",
                step ->
                    step.invoke(
                            LocalCall.of(
                                ctx ->
                                    ctx.output(reserve).reservationId() + ctx.input().quantity()))
                        .pivot())
            .build();

    assertThat(definition.inputType()).isEqualTo(Order.class);
    assertThat(definition.step("reserve").outputType()).isEqualTo(Reserved.class);
    assertThat(definition.step("ship").outputType()).isEqualTo(JsonNode.class);
    assertThat(definition.step("ship").kind()).isEqualTo(StepKind.PIVOT);
    assertThat(
            definition.bindInput(
                JsonNodeFactory.instance.objectNode().put("orderId", "o-1").put("quantity", 2)))
        .isEqualTo(new Order("o-1", 2));
  }

  record Reserved(String reservationId) {}

  record Order(String orderId, int quantity) {
    Order {
      if (quantity < 1) {
        throw new IllegalArgumentException("quantity must be at least 1");
      }
    }
  }

  @Test
  void validatesInputAgainstItsType() {
    var definition =
        SagaDefinition.builder("order", Order.class)
            .step(Step.named("a").invoke(NOOP).noCompensation())
            .build();
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
