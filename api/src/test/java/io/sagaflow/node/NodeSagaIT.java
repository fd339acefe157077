package io.sagaflow.node;

import static io.sagaflow.node.TestNodes.awaitStatus;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sagaflow.orchestrator.SagaReplies;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.StepStatus;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepContext;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.testing.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The engine's failure rules end to end: a node on real PostgreSQL calling a real HTTP stub
 * participant that records every call and dedupes by {@code Idempotency-Key}. Each test uses its
 * own paths (the saga input's {@code scenario}), so tests do not see each other's calls.
 */
class NodeSagaIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();

  static final String RESERVE = "reserve-inventory";
  static final String CHARGE = "charge-payment";
  static final String SHIP = "create-shipment";

  static final SagaDefinition<?> ORDER =
      SagaDefinition.builder("order")
          .defaultRetry(
              r ->
                  r.maxAttempts(3)
                      .minBackoff(Duration.ofMillis(100))
                      .maxBackoff(Duration.ofMillis(400))
                      .jitter(0.5))
          .compensationRetry(
              r ->
                  r.maxAttempts(3)
                      .minBackoff(Duration.ofMillis(50))
                      .maxBackoff(Duration.ofMillis(100)))
          .defaultTimeout(Duration.ofSeconds(1))
          .step(
              Step.named(RESERVE)
                  .invoke(call("inventory", "reserve"))
                  .compensateWith(call("inventory", "release")))
          .step(
              Step.named(CHARGE)
                  .invoke(call("payments", "charge"))
                  .compensateWith(call("payments", "refund")))
          .step(
              Step.named(SHIP)
                  .invoke(call("shipping", "ship"))
                  .compensateWith(call("shipping", "cancel")))
          .build();

  static final SagaDefinition<?> TRIP =
      SagaDefinition.builder("trip")
          .defaultRetry(
              r ->
                  r.maxAttempts(2)
                      .minBackoff(Duration.ofMillis(50))
                      .maxBackoff(Duration.ofMillis(100)))
          .defaultTimeout(Duration.ofSeconds(10))
          .deadline(Duration.ofMinutes(5))
          .step(
              Step.named("reserve-flight")
                  .invoke(call("flights", "reserve"))
                  .compensateWith(call("flights", "cancel")))
          .step(Step.named("charge-card").invoke(call("payments", "charge")).pivot())
          .step(Step.named("send-confirmation").invoke(call("notifications", "send")).retriable())
          .build();

  static final SagaDefinition<?> HURRIED =
      SagaDefinition.builder("hurried")
          .deadline(Duration.ofSeconds(1))
          .defaultTimeout(Duration.ofSeconds(20))
          .step(
              Step.named(RESERVE)
                  .invoke(call("inventory", "reserve"))
                  .compensateWith(call("inventory", "release")))
          .step(
              Step.named(CHARGE)
                  .invoke(call("payments", "charge"))
                  .compensateWith(call("payments", "refund")))
          .build();

  /** POST to /{scenario}/{action}, with the saga input as body. */
  static HttpCall<Object> call(String participant, String action) {
    return HttpCall.post(
        participant,
        ctx -> "/" + ctx.inputJson().get("scenario").asText() + "/" + action,
        StepContext::inputJson);
  }

  private static TestDatabase db;
  private static StubParticipant stub;
  private static SagaflowNode node;

  @BeforeAll
  static void startNode() {
    db = TestDatabase.fresh();
    stub = StubParticipant.start();
    node = TestNodes.start(db, stub.baseUrl(), List.of(ORDER, TRIP, HURRIED));
  }

  @AfterAll
  static void stopNode() {
    node.close();
    stub.close();
  }

  private final String scenario = "s-" + UUID.randomUUID().toString().substring(0, 8);
  private final String sagaId = "saga-" + scenario;

  private ObjectNode input() {
    return JSON.createObjectNode().put("scenario", scenario).put("orderId", "o-1");
  }

  private String path(String action) {
    return "/" + scenario + "/" + action;
  }

  private SagaReplies.StartReply start(String type) {
    return node.engine().start(sagaId, type, null, input()).toCompletableFuture().join();
  }

  private List<String> calledPaths() {
    return stub.calls().stream()
        .map(StubParticipant.Call::path)
        .filter(p -> p.startsWith("/" + scenario + "/"))
        .map(p -> p.substring(scenario.length() + 2))
        .toList();
  }

  private List<JsonNode> events() {
    var events = new java.util.ArrayList<JsonNode>();
    try (var connection = db.connect();
        var statement =
            connection.prepareStatement(
                "select convert_from(event_payload, 'UTF8') from event_journal"
                    + " where persistence_id = ? order by sequence_number")) {
      statement.setString(1, "saga|" + sagaId);
      try (var rows = statement.executeQuery()) {
        while (rows.next()) {
          events.add(parse(rows.getString(1)));
        }
      }
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
    return events;
  }

  private static JsonNode parse(String json) {
    try {
      return JSON.readTree(json);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void threeStepSagaCompletesCallingEachParticipantOnceInFourWrites() {
    var reply = start("order");

    assertThat(reply)
        .isInstanceOfSatisfying(SagaReplies.Accepted.class, a -> assertThat(a.created()).isTrue());
    var done = awaitStatus(node, sagaId, SagaStatus.COMPLETED, WAIT);
    assertThat(calledPaths()).containsExactly("reserve", "charge", "ship");
    assertThat(
            db.count(
                "select count(*) from event_journal where persistence_id = 'saga|" + sagaId + "'"))
        .isEqualTo(4);
    assertThat(done.steps())
        .allSatisfy(
            s -> {
              assertThat(s.status()).isEqualTo(StepStatus.SUCCEEDED);
              assertThat(s.attempts()).isEqualTo(1);
            });
    var charge = stub.calls(path("charge")).get(0);
    assertThat(charge.idempotencyKey()).contains(sagaId + "/" + CHARGE);
    assertThat(charge.header("Saga-Id")).contains(sagaId);
    assertThat(charge.header("Saga-Type")).contains("order");
    assertThat(charge.header("Saga-Step")).contains(CHARGE);
    assertThat(charge.header("Saga-Attempt")).contains("1");
    assertThat(charge.bodyJson().get("orderId").asText()).isEqualTo("o-1");
    String traceId = charge.header("traceparent").orElseThrow().split("-")[1];
    assertThat(charge.header("traceparent").orElseThrow())
        .matches("00-[0-9a-f]{32}-[0-9a-f]{16}-01");
    assertThat(stub.calls(path("ship")).get(0).header("traceparent").orElseThrow())
        .contains(traceId);
  }

  @Test
  void rejectedThirdStepCompensatesSecondThenFirstButNotItself() {
    stub.on(path("ship")).alwaysStatus(422);
    start("order");

    var view = awaitStatus(node, sagaId, SagaStatus.COMPENSATED, WAIT);
    assertThat(calledPaths()).containsExactly("reserve", "charge", "ship", "refund", "release");
    assertThat(view.step(SHIP).status()).isEqualTo(StepStatus.REJECTED);
    assertThat(view.step(CHARGE).status()).isEqualTo(StepStatus.COMPENSATED);
    assertThat(view.failure()).contains(SHIP).contains("422");
    assertThat(stub.calls(path("refund")).get(0).idempotencyKey())
        .contains(sagaId + "/" + CHARGE + "/compensation");
  }

  @Test
  void stepTimingOutOnEveryAttemptIsCompensatedWithTheStepBeforeIt() {
    // Longer than all three attempts together: the stub works one call per key at a time.
    stub.on(path("charge")).delay(Duration.ofSeconds(8));
    start("order");

    var view = awaitStatus(node, sagaId, SagaStatus.COMPENSATED, WAIT);
    assertThat(stub.calls(path("charge"))).hasSize(3);
    assertThat(calledPaths()).endsWith("refund", "release");
    assertThat(view.step(CHARGE).lastError()).contains("timed out");
    assertThat(view.failure()).contains("gave no answer after 3 attempts");
  }

  @Test
  void twoFailuresThen200CompletesWithThreeAttemptsWithinThePolicysDelays() {
    stub.on(path("charge")).failTimes(2, 503);
    start("order");

    var view = awaitStatus(node, sagaId, SagaStatus.COMPLETED, WAIT);
    assertThat(view.step(CHARGE).attempts()).isEqualTo(3);
    var calls = stub.calls(path("charge"));
    assertThat(calls).extracting(c -> c.sagaAttempt().orElseThrow()).containsExactly(1, 2, 3);
    var failures = events().stream().filter(e -> e.has("retryAt")).toList();
    assertThat(failures).hasSize(2);
    for (int i = 0; i < 2; i++) {
      Instant at = Instant.parse(failures.get(i).get("at").asText());
      Instant retryAt = Instant.parse(failures.get(i).get("retryAt").asText());
      long ceiling = 100L << i; // minBackoff 100 ms, multiplier 2
      assertThat(Duration.between(at, retryAt).toMillis()).isBetween(ceiling / 2, ceiling);
      assertThat(calls.get(i + 1).arrivedAt()).isAfterOrEqualTo(retryAt);
    }
  }

  @Test
  void twoHundredWithABodyOverTheCapIsUncertainSoItIsCompensatedAndNotAskedAgain() {
    String overOneMebibyte = "{\"blob\":\"" + "x".repeat(1024 * 1024) + "\"}";
    stub.on(path("charge")).respond(StubParticipant.Response.json(200, overOneMebibyte));
    start("order");

    var view = awaitStatus(node, sagaId, SagaStatus.COMPENSATED, WAIT);
    assertThat(view.failure())
        .isEqualTo(
            "step '"
                + CHARGE
                + "' answered 200 but its body could not be read: over 1048576 bytes");
    assertThat(calledPaths()).containsExactly("reserve", "charge", "refund", "release");
    assertThat(view.step(CHARGE).status()).isEqualTo(StepStatus.COMPENSATED);
    assertThat(stub.timesApplied(sagaId + "/" + CHARGE + "/compensation")).isEqualTo(1);
  }

  @Test
  void compensationFailingTwiceThenSucceedingEndsCompensated() {
    stub.on(path("ship")).alwaysStatus(409);
    stub.on(path("refund")).failTimes(2, 503);
    start("order");

    var view = awaitStatus(node, sagaId, SagaStatus.COMPENSATED, WAIT);
    assertThat(stub.calls(path("refund"))).hasSize(3);
    assertThat(view.step(CHARGE).compensationAttempts()).isEqualTo(3);
  }

  @Test
  void compensationExhaustingItsPolicyFailsAndResumeCompensates() {
    stub.on(path("ship")).alwaysStatus(400);
    stub.on(path("refund")).alwaysStatus(503);
    start("order");

    var failed = awaitStatus(node, sagaId, SagaStatus.FAILED, WAIT);
    assertThat(failed.failure())
        .contains("compensation of step '" + CHARGE + "' failed after 3 attempts")
        .contains("503");
    assertThat(stub.calls(path("release"))).isEmpty();

    stub.on(path("refund")).respond(200, "{\"refunded\":true}");
    var resumed = node.engine().resume(sagaId, "op-1").toCompletableFuture().join();
    assertThat(resumed).isInstanceOf(SagaReplies.Done.class);

    awaitStatus(node, sagaId, SagaStatus.COMPENSATED, WAIT);
    assertThat(calledPaths()).endsWith("refund", "release");
    assertThat(stub.timesApplied(sagaId + "/" + CHARGE + "/compensation")).isEqualTo(1);
  }

  @Test
  void cancelBeforeThePivotCompensates() {
    stub.on(path("reserve")).delay(Duration.ofSeconds(3));
    start("trip");
    stub.awaitCalls(path("reserve"), 1, WAIT);

    var reply =
        node.engine().cancel(sagaId, "op-1", "traveler cancelled").toCompletableFuture().join();

    assertThat(reply).isInstanceOf(SagaReplies.Done.class);
    var view = awaitStatus(node, sagaId, SagaStatus.COMPENSATED, WAIT);
    assertThat(view.failure()).isEqualTo("cancelled: traveler cancelled");
    assertThat(calledPaths()).containsExactly("reserve", "cancel");
  }

  @Test
  void cancelAfterThePivotIsRefusedAndTheRetriableStepIsRetriedUntilItSucceeds() {
    stub.on(path("send")).failTimes(3, 500).delay(Duration.ofMillis(100));
    start("trip");
    stub.awaitCalls(path("send"), 1, WAIT);

    var reply = node.engine().cancel(sagaId, "op-1", "too late").toCompletableFuture().join();

    assertThat(reply)
        .isInstanceOfSatisfying(
            SagaReplies.Refused.class, r -> assertThat(r.detail()).contains("pivot"));
    var view = awaitStatus(node, sagaId, SagaStatus.COMPLETED, WAIT);
    assertThat(view.step("send-confirmation").attempts()).isEqualTo(4);
    assertThat(calledPaths()).doesNotContain("cancel");
  }

  @Test
  void stepAfterThePivotThatIsRejectedFailsTheSagaAndRetryCompletesIt() {
    stub.on(path("send")).alwaysStatus(422);
    start("trip");

    var failed = awaitStatus(node, sagaId, SagaStatus.FAILED, WAIT);
    assertThat(failed.failure())
        .startsWith("step 'send-confirmation', after the pivot, was rejected at attempt 1:")
        .contains("answered 422");
    assertThat(failed.step("send-confirmation").status()).isEqualTo(StepStatus.REJECTED);
    assertThat(calledPaths()).containsExactly("reserve", "charge", "send");

    stub.on(path("send")).respond(202, "{\"sent\":true}");
    var resumed = node.engine().resume(sagaId, "op-1").toCompletableFuture().join();
    assertThat(resumed).isInstanceOf(SagaReplies.Done.class);

    var done = awaitStatus(node, sagaId, SagaStatus.COMPLETED, WAIT);
    assertThat(done.step("send-confirmation").attempts()).isEqualTo(2);
    assertThat(calledPaths()).containsExactly("reserve", "charge", "send", "send");
  }

  @Test
  void deadlinePassingBeforeThePivotCompensates() {
    stub.on(path("charge")).delay(Duration.ofSeconds(5));
    start("hurried");

    var view = awaitStatus(node, sagaId, SagaStatus.COMPENSATED, WAIT);
    assertThat(view.failure()).startsWith("deadline passed");
    // The deadline (1 s) usually finds charge in flight; on a slow machine it may come before.
    if (calledPaths().contains("charge")) {
      assertThat(calledPaths()).containsExactly("reserve", "charge", "refund", "release");
    } else {
      assertThat(calledPaths()).containsExactly("reserve", "release");
    }
  }

  @Test
  void lateReplyOfATimedOutAttemptIsIgnoredAndTheEffectAppliesOnce() {
    stub.on(path("charge"))
        .handle(
            call ->
                StubParticipant.Response.json(
                    200, "{\"attempt\":" + call.sagaAttempt().orElseThrow() + "}"))
        .delay(Duration.ofMillis(1300));
    start("order");

    var view = awaitStatus(node, sagaId, SagaStatus.COMPLETED, WAIT);
    assertThat(stub.timesApplied(sagaId + "/" + CHARGE)).isEqualTo(1);
    // The first attempt applied the effect; later attempts got its stored answer.
    assertThat(view.step(CHARGE).output().get("attempt").asInt()).isEqualTo(1);
    assertThat(view.step(CHARGE).attempts()).isGreaterThan(1);
  }

  @Test
  void duplicateStartReturnsTheExistingSagaAndAppliesEachEffectOnce() {
    var first = start("order");
    var second = start("order");
    var other =
        node.engine()
            .start(sagaId, "order", null, input().put("orderId", "o-2"))
            .toCompletableFuture()
            .join();

    assertThat(first)
        .isInstanceOfSatisfying(SagaReplies.Accepted.class, a -> assertThat(a.created()).isTrue());
    assertThat(second)
        .isInstanceOfSatisfying(SagaReplies.Accepted.class, a -> assertThat(a.created()).isFalse());
    assertThat(other).isInstanceOf(SagaReplies.Conflict.class);
    awaitStatus(node, sagaId, SagaStatus.COMPLETED, WAIT);
    assertThat(calledPaths()).containsExactly("reserve", "charge", "ship");
    assertThat(stub.maxTimesApplied()).isEqualTo(1);
  }
}
