package io.sagaflow.node.oldjournal;

import static io.sagaflow.orchestrator.SagaStatus.COMPENSATED;
import static io.sagaflow.orchestrator.SagaStatus.COMPENSATING;
import static io.sagaflow.orchestrator.SagaStatus.COMPLETED;
import static io.sagaflow.orchestrator.SagaStatus.FAILED;
import static io.sagaflow.orchestrator.SagaStatus.RUNNING;
import static io.sagaflow.orchestrator.StepStatus.PENDING;
import static io.sagaflow.orchestrator.StepStatus.REJECTED;
import static io.sagaflow.orchestrator.StepStatus.SUCCEEDED;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.StepStatus;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepContext;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.DatabaseSettings;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The saga definitions and instances of the old-journal fixtures, shared by the generator ({@link
 * MakeOldJournalFixture}) and the test that loads them ({@link OldJournalIT}).
 *
 * <p>Committed fixtures were written with these definitions: their names, versions, step names,
 * participants and paths must not change (a new shape gets a new definition, or a new version,
 * beside these). Every call goes to {@code /{sagaId}/{action}} on an HTTP participant, so that a
 * stub participant can be programmed and read per saga.
 */
final class FixtureSagas {
  /** Long enough that a backoff written by the generator is still due when it stops the node. */
  static final Duration BACKOFF = Duration.ofMinutes(2);

  /** Longer than the generator holds a call before it stops the node, below the pool's idle 60s. */
  static final Duration TIMEOUT = Duration.ofSeconds(45);

  static final List<String> PARTICIPANTS = List.of("inventory", "payments");

  private static final ObjectMapper JSON = new ObjectMapper();

  /** {@code fixture-order}: three steps before any pivot; reserve and charge are compensated. */
  static final SagaDefinition<?> ORDER =
      SagaDefinition.builder("fixture-order")
          .defaultRetry(r -> r.maxAttempts(3).minBackoff(BACKOFF).maxBackoff(BACKOFF).jitter(0))
          .compensationRetry(
              r -> r.maxAttempts(3).minBackoff(BACKOFF).maxBackoff(BACKOFF).jitter(0))
          .defaultTimeout(TIMEOUT)
          .step(
              Step.named("reserve")
                  .invoke(call("inventory", "reserve").withBody(StepContext::input))
                  .compensateWith(call("inventory", "release").withBody(StepContext::input)))
          .step(
              Step.named("charge")
                  .invoke(call("payments", "charge").withBody(FixtureSagas::withReservation))
                  .compensateWith(call("payments", "refund").withBody(StepContext::input)))
          .step(
              Step.named("ship")
                  .invoke(call("inventory", "ship").withBody(StepContext::input))
                  .noCompensation())
          .build();

  /** {@code fixture-pivot}: reserve (compensatable), pay (the pivot), ship (retriable). */
  static final SagaDefinition<?> PIVOT =
      SagaDefinition.builder("fixture-pivot")
          .defaultRetry(r -> r.maxAttempts(3).minBackoff(BACKOFF).maxBackoff(BACKOFF).jitter(0))
          .compensationRetry(
              r -> r.maxAttempts(3).minBackoff(BACKOFF).maxBackoff(BACKOFF).jitter(0))
          .defaultTimeout(TIMEOUT)
          .step(
              Step.named("reserve")
                  .invoke(call("inventory", "reserve").withBody(StepContext::input))
                  .compensateWith(call("inventory", "release").withBody(StepContext::input)))
          .step(
              Step.named("pay")
                  .invoke(call("payments", "pay").withBody(FixtureSagas::withReservation))
                  .pivot())
          .step(
              Step.named("ship")
                  .invoke(call("inventory", "ship").withBody(StepContext::input))
                  .retriable())
          .build();

  static final List<SagaDefinition<?>> DEFINITIONS = List.of(ORDER, PIVOT);

  /** A participant call the stub must see after the fixture is loaded. */
  record ExpectedCall(String path, String idempotencyKey, String step, int attempt) {}

  /**
   * One saga of the fixture: what the generator leaves it at, and what it must do once loaded.
   *
   * @param operatorRetries the test resumes it ({@code POST /v1/sagas/{id}/retry}) once the others
   *     have ended, and only then may it be called
   */
  record FixtureSaga(
      String id,
      SagaDefinition<?> definition,
      String story,
      SagaStatus statusInFixture,
      List<String> eventsInFixture,
      boolean operatorRetries,
      List<ExpectedCall> callsAfterLoad,
      List<String> eventsAfterLoad,
      SagaStatus finalStatus,
      Map<String, StepStatus> finalSteps) {

    ObjectNode input() {
      return JSON.createObjectNode().put("orderId", id).put("amount", 10);
    }

    String path(String action) {
      return "/" + id + "/" + action;
    }
  }

  static final List<FixtureSaga> SAGAS =
      List.of(
          new FixtureSaga(
              "completed",
              ORDER,
              "every step answered 200",
              COMPLETED,
              List.of("SagaStarted", "StepSucceeded", "StepSucceeded", "SagaCompleted"),
              false,
              List.of(),
              List.of(),
              COMPLETED,
              steps(SUCCEEDED, SUCCEEDED, SUCCEEDED)),
          new FixtureSaga(
              "compensated",
              ORDER,
              "charge answered 422; reserve was released",
              COMPENSATED,
              List.of("SagaStarted", "StepSucceeded", "StepFailed", "StepCompensated"),
              false,
              List.of(),
              List.of(),
              COMPENSATED,
              steps(StepStatus.COMPENSATED, REJECTED, PENDING)),
          new FixtureSaga(
              "step-backoff",
              ORDER,
              "charge answered 503 and waits out its backoff (retryAt was in the future when the"
                  + " fixture was made); loaded, charge attempt 2 is called at once with the same"
                  + " key and the reservation from reserve's old output, then ship",
              RUNNING,
              List.of("SagaStarted", "StepSucceeded", "StepAttemptFailed"),
              false,
              List.of(
                  new ExpectedCall("/step-backoff/charge", "step-backoff/charge", "charge", 2),
                  new ExpectedCall("/step-backoff/ship", "step-backoff/ship", "ship", 1)),
              List.of("StepSucceeded", "SagaCompleted"),
              COMPLETED,
              steps(SUCCEEDED, SUCCEEDED, SUCCEEDED)),
          new FixtureSaga(
              "step-in-flight",
              ORDER,
              "the node stopped while the participant held charge attempt 1 (nothing written"
                  + " for it); loaded, attempt 1 is called again with the same key, then ship",
              RUNNING,
              List.of("SagaStarted", "StepSucceeded"),
              false,
              List.of(
                  new ExpectedCall("/step-in-flight/charge", "step-in-flight/charge", "charge", 1),
                  new ExpectedCall("/step-in-flight/ship", "step-in-flight/ship", "ship", 1)),
              List.of("StepSucceeded", "SagaCompleted"),
              COMPLETED,
              steps(SUCCEEDED, SUCCEEDED, SUCCEEDED)),
          new FixtureSaga(
              "compensation-backoff",
              ORDER,
              "ship answered 422, the refund of charge answered 503 and waits out its backoff;"
                  + " loaded, refund attempt 2 then release are called, newest first",
              COMPENSATING,
              List.of(
                  "SagaStarted",
                  "StepSucceeded",
                  "StepSucceeded",
                  "StepFailed",
                  "CompensationAttemptFailed"),
              false,
              List.of(
                  new ExpectedCall(
                      "/compensation-backoff/refund",
                      "compensation-backoff/charge/compensation",
                      "charge",
                      2),
                  new ExpectedCall(
                      "/compensation-backoff/release",
                      "compensation-backoff/reserve/compensation",
                      "reserve",
                      1)),
              List.of("StepCompensated", "StepCompensated"),
              COMPENSATED,
              steps(StepStatus.COMPENSATED, StepStatus.COMPENSATED, REJECTED)),
          new FixtureSaga(
              "cancelled",
              ORDER,
              "charge answered 503, then the saga was cancelled over the API; the node stopped"
                  + " while the participant held the refund of charge (uncertain, so compensated);"
                  + " loaded, refund then release are called",
              COMPENSATING,
              List.of("SagaStarted", "StepSucceeded", "StepAttemptFailed", "CompensationStarted"),
              false,
              List.of(
                  new ExpectedCall(
                      "/cancelled/refund", "cancelled/charge/compensation", "charge", 1),
                  new ExpectedCall(
                      "/cancelled/release", "cancelled/reserve/compensation", "reserve", 1)),
              List.of("StepCompensated", "StepCompensated"),
              COMPENSATED,
              steps(StepStatus.COMPENSATED, StepStatus.COMPENSATED, PENDING)),
          new FixtureSaga(
              "failed",
              ORDER,
              "ship answered 422 and the refund of charge answered 422: FAILED for an operator;"
                  + " loaded, it stays FAILED and uncalled until the test retries it over the"
                  + " API, then refund attempt 2 and release are called",
              FAILED,
              List.of(
                  "SagaStarted",
                  "StepSucceeded",
                  "StepSucceeded",
                  "StepFailed",
                  "CompensationFailed"),
              true,
              List.of(
                  new ExpectedCall("/failed/refund", "failed/charge/compensation", "charge", 2),
                  new ExpectedCall("/failed/release", "failed/reserve/compensation", "reserve", 1)),
              List.of("SagaResumed", "StepCompensated", "StepCompensated"),
              COMPENSATED,
              steps(StepStatus.COMPENSATED, StepStatus.COMPENSATED, REJECTED)),
          new FixtureSaga(
              "pivot-passed",
              PIVOT,
              "reserve and the pivot pay succeeded, ship answered 503 and waits out its backoff;"
                  + " loaded, a cancel is refused (past the pivot) and ship attempt 2 completes it",
              RUNNING,
              List.of("SagaStarted", "StepSucceeded", "StepSucceeded", "StepAttemptFailed"),
              false,
              List.of(new ExpectedCall("/pivot-passed/ship", "pivot-passed/ship", "ship", 2)),
              List.of("SagaCompleted"),
              COMPLETED,
              Map.of("reserve", SUCCEEDED, "pay", SUCCEEDED, "ship", SUCCEEDED)),
          new FixtureSaga(
              "pivot-in-progress",
              PIVOT,
              "the node stopped while the participant held pay attempt 1, the pivot (its outcome"
                  + " unknown); loaded, pay attempt 1 is called again with the same key, then ship",
              RUNNING,
              List.of("SagaStarted", "StepSucceeded"),
              false,
              List.of(
                  new ExpectedCall("/pivot-in-progress/pay", "pivot-in-progress/pay", "pay", 1),
                  new ExpectedCall("/pivot-in-progress/ship", "pivot-in-progress/ship", "ship", 1)),
              List.of("StepSucceeded", "SagaCompleted"),
              COMPLETED,
              Map.of("reserve", SUCCEEDED, "pay", SUCCEEDED, "ship", SUCCEEDED)),
          new FixtureSaga(
              "pivot-completed",
              PIVOT,
              "every step of the pivot saga answered 200",
              COMPLETED,
              List.of("SagaStarted", "StepSucceeded", "StepSucceeded", "SagaCompleted"),
              false,
              List.of(),
              List.of(),
              COMPLETED,
              Map.of("reserve", SUCCEEDED, "pay", SUCCEEDED, "ship", SUCCEEDED)),
          new FixtureSaga(
              "resumed",
              ORDER,
              "charge answered 422, the release of reserve answered 422 (FAILED), an operator"
                  + " retried it over the API and release answered 503: compensating, waiting out"
                  + " its backoff with SagaResumed in its history; loaded, release attempt 3 ends"
                  + " it",
              COMPENSATING,
              List.of(
                  "SagaStarted",
                  "StepSucceeded",
                  "StepFailed",
                  "CompensationFailed",
                  "SagaResumed",
                  "CompensationAttemptFailed"),
              false,
              List.of(
                  new ExpectedCall(
                      "/resumed/release", "resumed/reserve/compensation", "reserve", 3)),
              List.of("StepCompensated"),
              COMPENSATED,
              steps(StepStatus.COMPENSATED, REJECTED, PENDING)));

  private FixtureSagas() {}

  static FixtureSaga saga(String id) {
    return SAGAS.stream()
        .filter(s -> s.id().equals(id))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no fixture saga " + id));
  }

  /** What a participant answers a saga's calls when nothing goes wrong. */
  static void answerNormally(StubParticipant stub, String sagaId) {
    stub.on("/" + sagaId + "/reserve").respond(200, json("reservationId", "R-" + sagaId));
    stub.on("/" + sagaId + "/charge").respond(200, json("chargeId", "C-" + sagaId));
    stub.on("/" + sagaId + "/pay").respond(200, json("paymentId", "P-" + sagaId));
  }

  /** A node's settings: free ports, every participant at {@code participantsUrl}. */
  static Config nodeConfig(String participantsUrl) {
    var values = new HashMap<String, Object>();
    values.put("pekko.remote.artery.canonical.port", 0);
    values.put("pekko.management.http.port", 0);
    values.put("sagaflow.http.host", "127.0.0.1");
    values.put("sagaflow.http.port", 0);
    // A 2-core machine shared with other builds: a start may wait longer than in production.
    values.put("sagaflow.engine.ask-timeout", "20s");
    for (String name : PARTICIPANTS) {
      values.put("sagaflow.participants." + name + ".url", participantsUrl);
    }
    return ConfigFactory.parseMap(values);
  }

  static Map<String, String> nodeEnv(String jdbcUrl, String user, String password) {
    return Map.of(
        DatabaseSettings.URL_ENV, jdbcUrl,
        DatabaseSettings.USER_ENV, user,
        DatabaseSettings.PASSWORD_ENV, password);
  }

  private static HttpCall<Object> call(String participant, String action) {
    return HttpCall.post(participant, ctx -> "/" + ctx.sagaId() + "/" + action);
  }

  /** The saga input plus the reservation reserve answered: read from reserve's output. */
  private static Object withReservation(StepContext<Object> ctx) {
    ObjectNode body = ctx.inputJson().deepCopy();
    body.put("reservationId", ctx.output("reserve").get("reservationId").asText());
    return body;
  }

  private static Map<String, StepStatus> steps(
      StepStatus reserve, StepStatus charge, StepStatus ship) {
    var steps = new LinkedHashMap<String, StepStatus>();
    steps.put("reserve", reserve);
    steps.put("charge", charge);
    steps.put("ship", ship);
    return steps;
  }

  private static String json(String field, String value) {
    return JSON.createObjectNode().put(field, value).toString();
  }
}
