package io.sagaflow.testkit;

import static io.sagaflow.testkit.Shop.AUTHORIZE;
import static io.sagaflow.testkit.Shop.CHARGE;
import static io.sagaflow.testkit.Shop.CHECK;
import static io.sagaflow.testkit.Shop.NOTIFY;
import static io.sagaflow.testkit.Shop.ORDER;
import static io.sagaflow.testkit.Shop.RESERVE;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.StepStatus;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepKey;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class SagaTestKitTest {
  private static final SagaTestKit kit = SagaTestKit.create();

  @AfterAll
  static void close() {
    kit.close();
  }

  @Test
  void aStepRetriedAfterTwo503sSucceedsWithTheSameKeyAndBody() {
    Instant before = kit.clock().instant();
    var expect =
        kit.given(Shop.definition())
            .step(RESERVE)
            .answers(Answer.status(503).times(2), Answer.ok("{\"reservationId\":\"r-1\"}"))
            .when()
            .started("o-1", ORDER)
            .expect();

    expect
        .status(SagaStatus.COMPLETED)
        .calls("reserve", "reserve", "reserve", "authorize", "check", "charge", "notify")
        .events(
            "SagaStarted",
            "StepAttemptFailed",
            "StepAttemptFailed",
            "StepSucceeded",
            "StepSucceeded",
            "StepSucceeded",
            "StepSucceeded",
            "SagaCompleted")
        .call(RESERVE, 3)
        .hasIdempotencyKey("o-1/reserve")
        .hasParticipant("inventory")
        .hasMethod("POST")
        .hasPath("/reservations")
        .hasBody("{\"quantity\": 2, \"orderId\": \"o-1\"}")
        .hasHeader("Saga-Attempt", "3")
        .call(NOTIFY, 1)
        .hasBody(new Shop.Notice("o-1", "r-1"))
        .call(AUTHORIZE, 1)
        .hasBody("{\"reference\": \"o-1\", \"amount\": 90}");
    assertThat(expect.output(RESERVE)).isEqualTo(new Shop.Reservation("r-1"));
    // Two backoffs of up to a second and two seconds passed, in virtual time only.
    Duration waited =
        Duration.between(expect.recordedCalls().get(0).at(), expect.recordedCalls().get(2).at());
    assertThat(waited).isBetween(Duration.ofMillis(1), Duration.ofSeconds(3));
    assertThat(kit.clock().instant()).isAfter(before);
  }

  @Test
  void aRejectionCompensatesTheStepsBeforeItNewestFirstByTheirCompensationKeys() {
    kit.given(Shop.definition())
        .step(CHARGE)
        .answers(Answer.status(422, "{\"title\": \"card declined\"}"))
        .when()
        .started("o-1", ORDER)
        .expect()
        .status(SagaStatus.COMPENSATED)
        .calls("reserve", "authorize", "check", "charge", "undo authorize", "undo reserve")
        .failureContains("step 'charge' was rejected")
        .failureContains("card declined")
        .stepStatus(CHARGE, StepStatus.REJECTED)
        .stepStatus(AUTHORIZE, StepStatus.COMPENSATED)
        .compensationCall(AUTHORIZE, 1)
        .hasIdempotencyKey("o-1/authorize/compensation")
        .hasPath("/authorizations/o-1/void")
        .hasNoBody()
        .compensationCall(RESERVE, 1)
        .hasIdempotencyKey("o-1/reserve/compensation")
        .hasPath("/reservations/o-1/release");
  }

  @Test
  void aCallLeftWithoutAnAnswerTimesOutAtOnceAndIsSentAgain() {
    var expect =
        kit.given(Shop.definition())
            .step(AUTHORIZE)
            .answers(Answer.timeout(), Answer.ok())
            .when()
            .started("o-1", ORDER)
            .expect()
            .status(SagaStatus.COMPLETED)
            .calls("reserve", "authorize", "authorize", "check", "charge", "notify");

    var first = expect.call(AUTHORIZE, 1).recorded();
    var second = expect.call(AUTHORIZE, 2).recorded();
    assertThat(first.answer()).isEqualTo("no answer");
    // The step's 5 s timeout, then a backoff of at most a second.
    assertThat(Duration.between(first.at(), second.at()))
        .isBetween(Duration.ofSeconds(5), Duration.ofSeconds(6));
    assertThat(expect.recordedEvents().get(2).toString()).contains("timed out after PT5S");
  }

  @Test
  void theDeadlinePassesAtOnceAndCompensatesWhatWasDone() {
    var patient =
        SagaDefinition.builder("patient", Shop.Order.class)
            .deadline(Duration.ofMinutes(10))
            .step(
                RESERVE,
                step ->
                    step.invoke(HttpCall.post("inventory", "/reservations"))
                        .compensateWith(HttpCall.post("inventory", "/release")))
            .step(
                AUTHORIZE,
                step ->
                    step.invoke(HttpCall.post("payments", "/authorizations"))
                        .compensateWith(HttpCall.post("payments", "/void"))
                        .retry(r -> r.unlimitedAttempts().maxBackoff(Duration.ofMinutes(4))))
            .build();

    var expect =
        kit.given(patient)
            .step(AUTHORIZE)
            .answers(Answer.retryAfter(503, Duration.ofMinutes(3)))
            .when()
            .started("o-2", ORDER)
            .expect()
            .status(SagaStatus.COMPENSATED)
            .failureContains("deadline passed")
            .stepStatus(AUTHORIZE, StepStatus.COMPENSATED);

    var saga = expect.snapshot();
    assertThat(saga.updatedAt()).isEqualTo(saga.deadline());
    assertThat(Duration.between(saga.createdAt(), saga.updatedAt()))
        .isEqualTo(Duration.ofMinutes(10));
    assertThat(expect.recordedCalls())
        .extracting(RecordedCall::name)
        .startsWith("reserve", "authorize", "authorize")
        .endsWith("authorize", "undo authorize", "undo reserve");
  }

  @Test
  void aPivotOutOfAttemptsLeavesTheSagaFailedWithNothingUndone() {
    kit.given(Shop.definition())
        .step(CHARGE)
        .answers(Answer.status(503))
        .when()
        .started("o-1", ORDER)
        .expect()
        .status(SagaStatus.FAILED)
        .calls("reserve", "authorize", "check", "charge", "charge", "charge")
        .failureContains("pivot step 'charge' gave no answer after 3 attempts")
        .stepStatus(CHARGE, StepStatus.UNCERTAIN)
        .stepStatus(RESERVE, StepStatus.SUCCEEDED);
  }

  @Test
  void aResumeCallsTheFailedPivotAgainWithAFreshBudget() {
    kit.given(Shop.definition())
        .step(CHARGE)
        .answers(Answer.status(503).times(3), Answer.ok())
        .when()
        .started("o-1", ORDER)
        .resumed()
        .expect()
        .status(SagaStatus.COMPLETED)
        .calls("reserve", "authorize", "check", "charge", "charge", "charge", "charge", "notify")
        .call(CHARGE, 4)
        .hasIdempotencyKey("o-1/charge")
        .hasHeader("Saga-Attempt", "4");
  }

  @Test
  void aCancelWaitsForTheCallInFlightThenUndoesItWithTheStepsBefore() {
    kit.given(Shop.definition())
        .step(AUTHORIZE)
        .answers(Answer.timeout())
        .when()
        .started("o-1", ORDER)
        .cancelled("changed my mind")
        .expect()
        .status(SagaStatus.COMPENSATED)
        .calls("reserve", "authorize", "undo authorize", "undo reserve")
        .failureContains("cancelled: changed my mind")
        .stepStatus(AUTHORIZE, StepStatus.COMPENSATED);
  }

  @Test
  void aCancelAfterThePivotIsRefusedAndTheSagaCompletes() {
    kit.given(Shop.definition())
        .step(CHARGE)
        .answers(Answer.timeout(), Answer.ok())
        .when()
        .started("o-1", ORDER)
        .cancelled("too late")
        .expect()
        .status(SagaStatus.COMPLETED)
        .refused("reached its pivot step 'charge'");
  }

  @Test
  void timePassesAsFarAsTheTestSays() {
    var expect =
        kit.given(Shop.definition())
            .step(RESERVE)
            .answers(Answer.retryAfter(429, Duration.ofSeconds(8)), Answer.ok())
            .when()
            .started("o-1", ORDER)
            .timePasses(Duration.ofSeconds(2))
            .cancelled("not waiting")
            .expect()
            .status(SagaStatus.COMPENSATED)
            .calls("reserve", "undo reserve");
    assertThat(expect.story()).contains("2s passed").contains("cancel (not waiting)");
  }

  @Test
  void aSuccessThatCannotBeReadLeavesTheStepUncertainAndUndoesIt() {
    kit.given(Shop.definition())
        .step(AUTHORIZE)
        .answers(Answer.unreadable())
        .when()
        .started("o-1", ORDER)
        .expect()
        .status(SagaStatus.COMPENSATED)
        .calls("reserve", "authorize", "undo authorize", "undo reserve")
        .failureContains("answered 200 but its body could not be read");
  }

  @Test
  void localStepsRunTheirOwnFunctionAndAreRecordedWithTheirAttempts() {
    var runs = new AtomicInteger();
    var flaky =
        Shop.definition(
            order -> {
              if (runs.incrementAndGet() == 1) {
                throw new IllegalStateException("warming up");
              }
              return true;
            });
    var expect =
        kit.given(flaky)
            .when()
            .started("o-1", ORDER)
            .expect()
            .status(SagaStatus.COMPLETED)
            .calls("reserve", "authorize", "check", "check", "charge", "notify");
    assertThat(runs).hasValue(2);
    assertThat(expect.call(CHECK, 2).recorded().isLocal()).isTrue();
    assertThatThrownBy(() -> expect.call(CHECK, 2).hasIdempotencyKey("o-1/check"))
        .isInstanceOf(AssertionError.class)
        .hasMessageStartingWith(
            "Expected check #2 to have an idempotency key, but it ran a local step's function");
  }

  record Total(BigDecimal total) {}

  @Test
  void aLocalStepsDecimalOutputIsReadBackByValue() {
    var key = StepKey.of("total", Total.class);
    var totals =
        SagaDefinition.builder("totals")
            .step(
                key,
                step ->
                    step.invoke(LocalCall.of(ctx -> new Total(new BigDecimal("90.00"))))
                        .noCompensation())
            .build();
    var expect = kit.given(totals).when().startedWithJson("t-1", "{\"amount\": 90.00}").expect();
    expect.status(SagaStatus.COMPLETED).calls("total");
    assertThat(expect.output(key).total()).isEqualByComparingTo("90");
  }

  @Test
  void localBranchesOfAGroupAndAFanOutAreRecordedUnderTheirOwnNames() {
    var parallel =
        SagaDefinition.builder("parallel")
            .group(
                "both",
                g ->
                    g.step("left", step -> step.invoke(LocalCall.of(ctx -> "l")).noCompensation())
                        .step(
                            "right",
                            step -> step.invoke(LocalCall.of(ctx -> "r")).noCompensation()))
            .step(
                "each",
                step ->
                    step.forEach(ctx -> java.util.List.of("a", "b"), k -> k)
                        .maxConcurrency(1)
                        .invoke(LocalCall.of(ctx -> ctx.elementKey()))
                        .noCompensation())
            .build();
    var expect = kit.given(parallel).when().startedWithJson("p-1", "{}").expect();
    expect.status(SagaStatus.COMPLETED).calls("left", "right", "each/a", "each/b");
    assertThat(expect.recordedCalls()).allMatch(RecordedCall::isLocal);
  }

  @Test
  void aRefusedStartIsAnExpectationOfItsOwn() {
    var expect =
        kit.given(Shop.definition())
            .when()
            .startedWithJson("o-1", "{\"orderId\": \"o-1\", \"quantity\": \"many\"}")
            .expect()
            .refused("INVALID_INPUT")
            .refused("quantity")
            .calls();
    assertThatThrownBy(() -> expect.status(SagaStatus.RUNNING))
        .isInstanceOf(AssertionError.class)
        .hasMessageStartingWith("Expected status RUNNING, but the saga was never started: start")
        .hasMessageContaining("was never started\n");
  }

  @Test
  void aScenarioThatCannotSettleFailsAfterThirtyVirtualDays() {
    var stubborn =
        SagaDefinition.builder("stubborn")
            .step(
                Step.named("forever")
                    .invoke(HttpCall.post("tape", "/"))
                    .noCompensation()
                    .retry(r -> r.unlimitedAttempts().maxBackoff(Duration.ofDays(2))))
            .build();
    var run =
        kit.given(stubborn)
            .step("forever")
            .answers(Answer.retryAfter(503, Duration.ofDays(2)))
            .when()
            .startedWithJson("s-1", "{}");

    assertThatThrownBy(run::expect)
        .isInstanceOf(AssertionError.class)
        .hasMessageStartingWith(
            "expect(): the saga has neither ended nor stopped for an operator within 30d of"
                + " virtual time")
        .hasMessageContaining("Saga 's-1' (stubborn v1) is RUNNING");
  }

  @Test
  void aFailedExpectationSaysWhatWasExpectedWhatHappenedAndTheSagasStory() {
    var expect =
        kit.given(Shop.definition())
            .step(CHARGE)
            .answers(Answer.status(422))
            .when()
            .started("o-1", ORDER)
            .expect();

    assertThatThrownBy(() -> expect.status(SagaStatus.COMPLETED))
        .isInstanceOf(AssertionError.class)
        .hasMessageStartingWith(
            "Expected status COMPLETED, but the saga is COMPENSATED\n\n"
                + "Saga 'o-1' (shop v1) is COMPENSATED: step 'charge' was rejected:"
                + " payments POST /authorizations/o-1/capture answered 422 Unprocessable Content\n")
        .hasMessageContaining(
            " 4. +0s       charge #1 payments POST /authorizations/o-1/capture -> 422\n")
        .hasMessageContaining(
            " 6. +0s       undo reserve #1 inventory POST /reservations/o-1/release -> 200 {}\n")
        .hasMessageContaining("StepFailed")
        .hasMessageContaining("undo [authorize, reserve]");
    assertThatThrownBy(() -> expect.calls("reserve", "authorize", "charge"))
        .isInstanceOf(AssertionError.class)
        .hasMessageStartingWith(
            "Expected the calls\n  [reserve, authorize, charge]\nbut the saga made\n"
                + "  [reserve, authorize, check, charge, undo authorize, undo reserve]\n");
    assertThatThrownBy(() -> expect.call(RESERVE, 1).hasBody("{\"orderId\": \"o-2\"}"))
        .isInstanceOf(AssertionError.class)
        .hasMessageStartingWith(
            "Expected reserve #1 to send the body\n  {\"orderId\":\"o-2\"}\nbut it sent\n  {")
        .hasMessageContaining("\"quantity\":2");
    assertThatThrownBy(() -> expect.call(RESERVE, 2))
        .isInstanceOf(AssertionError.class)
        .hasMessageStartingWith("Expected an attempt reserve #2, but the saga made [reserve #1,");
  }

  @Test
  void scriptingAStepTheSagaDoesNotCallByHttpIsRefusedAtOnce() {
    var given = kit.given(Shop.definition());
    assertThatThrownBy(() -> given.step("ship"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "saga 'shop' has no step 'ship'; its steps are"
                + " [reserve, authorize, check, charge, notify]");
    assertThatThrownBy(() -> given.step(CHECK))
        .hasMessage(
            "step 'check' is a local step: it runs its own function, no participant answers it");
    assertThatThrownBy(() -> given.compensation(CHARGE))
        .hasMessage("step 'charge' has no compensation: there is nothing to answer");
    assertThatThrownBy(() -> Answer.ok("{oops"))
        .hasMessageStartingWith("Answer.ok(json): not valid JSON");
  }
}
