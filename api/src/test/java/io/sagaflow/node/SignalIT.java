package io.sagaflow.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.dsl.AwaitSignal;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepContext;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.testing.TestDatabase;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Signals end to end: a node on real PostgreSQL calling a real HTTP stub participant, signalled
 * through {@code POST /v1/sagas/{id}/signals/{name}}; and a node JVM killed with {@code kill -9}
 * while its sagas wait, whose successor takes their signals and finishes them, nothing applied
 * twice.
 */
class SignalIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  record Approval(boolean approved, String by) {}

  static final SagaDefinition<?> PURCHASE =
      SagaDefinition.builder("purchase")
          .defaultRetry(
              r ->
                  r.maxAttempts(2)
                      .minBackoff(Duration.ofMillis(50))
                      .maxBackoff(Duration.ofMillis(100)))
          .defaultTimeout(Duration.ofSeconds(10))
          .step(
              Step.named("reserve")
                  .invoke(call("inventory", "reserve"))
                  .compensateWith(call("inventory", "release")))
          .step(
              Step.named("approval")
                  .awaitSignal(
                      AwaitSignal.named("approval")
                          .rejectIf(
                              Approval.class, a -> !a.approved(), a -> "refused by " + a.by()))
                  .timeout(Duration.ofMinutes(5)))
          .step(Step.named("charge").invoke(call("payments", "charge")).noCompensation())
          .build();

  /** Waits for a confirmation at most 30 s: under this node's durable-from, so in memory. */
  static final SagaDefinition<?> CONFIRMATION =
      SagaDefinition.builder("confirmation")
          .defaultTimeout(Duration.ofSeconds(10))
          .step(
              Step.named("confirm")
                  .awaitSignal(AwaitSignal.named("confirm"))
                  .timeout(Duration.ofSeconds(30)))
          .step(Step.named("ship").invoke(call("shipping", "ship")).noCompensation())
          .build();

  static HttpCall<Object> call(String participant, String action) {
    return HttpCall.post(
        participant,
        ctx -> "/" + ctx.inputJson().get("scenario").asText() + "/" + action,
        StepContext::inputJson);
  }

  private static TestDatabase db;
  private static StubParticipant stub;
  private static SagaflowNode node;
  private static String base;

  @BeforeAll
  static void startNode() {
    db = TestDatabase.fresh();
    stub = StubParticipant.start();
    // Waits from one minute on leave memory: the purchase's approval (5 min) does, the
    // confirmation's (30 s) stays in memory.
    node =
        SagaflowNode.start(
            com.typesafe.config.ConfigFactory.parseMap(Map.of("sagaflow.timers.durable-from", "1m"))
                .withFallback(TestNodes.config(stub.baseUrl())),
            TestNodes.env(db),
            List.of(PURCHASE, CONFIRMATION));
    base = "http://127.0.0.1:" + node.httpPort();
  }

  @AfterAll
  static void stopNode() {
    node.close();
    stub.close();
  }

  @Test
  void aSignalOverHttpFinishesTheSagaAndARepeatAnswersAsTheFirstDid() throws Exception {
    String scenario = "yes-" + UUID.randomUUID();
    String id = start(base, "purchase", scenario);
    JsonNode waiting = awaitWaiting(base, id);
    assertThat(waiting.at("/waitingFor/signal").asText()).isEqualTo("approval");
    assertThat(waiting.at("/waitingFor/step").asText()).isEqualTo("approval");
    assertThat(waiting.at("/waitingFor/timeoutAt").asText()).isNotEmpty();

    HttpResponse<String> first =
        signal(base, id, "approval", "{\"approved\":true,\"by\":\"ana\"}", "k-1");
    HttpResponse<String> again =
        signal(base, id, "approval", "{\"approved\":true,\"by\":\"ana\"}", "k-1");
    assertThat(first.statusCode()).as(first.body()).isEqualTo(202);
    assertThat(again.statusCode()).as(again.body()).isEqualTo(202);

    TestNodes.awaitStatus(node, id, SagaStatus.COMPLETED, WAIT);
    assertThat(stub.calls("/" + scenario + "/charge")).hasSize(1);
    JsonNode done = get(base, id);
    assertThat(done.at("/steps/1/output/by").asText()).isEqualTo("ana");
    assertThat(done.has("waitingFor")).isFalse();
    // Once ended, a new signal is refused; the repeat of the first still answers as it did.
    HttpResponse<String> late =
        signal(base, id, "approval", "{\"approved\":true,\"by\":\"bo\"}", "k-2");
    assertThat(late.statusCode()).isEqualTo(409);
    assertThat(late.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(late.body()).contains("saga is COMPLETED");
    assertThat(signal(base, id, "approval", "{}", "k-1").statusCode()).isEqualTo(202);
  }

  @Test
  void anApprovalThatSaysNoCompensatesTheSaga() throws Exception {
    String scenario = "no-" + UUID.randomUUID();
    String id = start(base, "purchase", scenario);
    awaitWaiting(base, id);
    assertThat(
            signal(base, id, "approval", "{\"approved\":false,\"by\":\"ana\"}", "no-1")
                .statusCode())
        .isEqualTo(202);
    var view = TestNodes.awaitStatus(node, id, SagaStatus.COMPENSATED, WAIT);
    assertThat(view.failure()).contains("refused by ana");
    assertThat(stub.calls("/" + scenario + "/release")).hasSize(1);
    assertThat(stub.calls("/" + scenario + "/charge")).isEmpty();
  }

  @Test
  void anUnknownSignalIsUnprocessableAndWritesNothing() throws Exception {
    String scenario = "unknown-" + UUID.randomUUID();
    String id = start(base, "purchase", scenario);
    awaitWaiting(base, id);
    long events = get(base, id + "/events").get("events").size();

    HttpResponse<String> unknown = signal(base, id, "payment", "{}", "u-1");
    assertThat(unknown.statusCode()).isEqualTo(422);
    assertThat(unknown.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    JsonNode problem = JSON.readTree(unknown.body());
    assertThat(problem.get("type").asText()).endsWith("unknown-signal");
    assertThat(problem.get("detail").asText()).contains("no signal 'payment'").contains("approval");
    assertThat(signal(base, "no-such-saga", "approval", "{}", "u-2").statusCode()).isEqualTo(404);
    assertThat(get(base, id + "/events").get("events").size()).isEqualTo(events);
  }

  @Test
  void theSagasWaitingForASignalAreListedByItUntilTheyTakeIt() throws Exception {
    String scenario = "listed-" + UUID.randomUUID();
    String approval = start(base, "purchase", scenario);
    String confirm = start(base, "confirmation", scenario);
    awaitWaiting(base, approval);
    awaitWaiting(base, confirm);

    // Out of memory (approval) or in it (confirm), each is listed by the signal it waits for.
    awaitListed("approval", approval, true);
    awaitListed("*", approval, true);
    awaitListed("*", confirm, true);
    assertThat(listed("approval")).doesNotContain(confirm);
    assertThat(listed("confirm")).containsExactly(confirm);

    assertThat(signal(base, approval, "approval", "{\"approved\":true,\"by\":\"ana\"}", "l-1"))
        .extracting(HttpResponse::statusCode)
        .isEqualTo(202);
    assertThat(signal(base, confirm, "confirm", "{}", "l-2"))
        .extracting(HttpResponse::statusCode)
        .isEqualTo(202);
    TestNodes.awaitStatus(node, approval, SagaStatus.COMPLETED, WAIT);
    TestNodes.awaitStatus(node, confirm, SagaStatus.COMPLETED, WAIT);
    assertThat(listed("*")).doesNotContain(approval, confirm);
    // Each saga cleared its durable timer when it took its signal.
    Eventually.until(
        "no durable timer left for " + scenario,
        WAIT,
        () ->
            db.count(
                    "SELECT count(*) FROM saga_timer WHERE saga_id IN ('"
                        + approval
                        + "', '"
                        + confirm
                        + "')")
                == 0);

    HttpResponse<String> blank =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(base + "/v1/sagas?waitingFor=")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(blank.statusCode()).isEqualTo(400);
    assertThat(blank.headers().firstValue("Content-Type")).hasValue("application/problem+json");
    assertThat(blank.body()).contains("waitingFor");
  }

  private static List<String> listed(String signal) {
    var ids = new java.util.ArrayList<String>();
    String query = java.net.URLEncoder.encode(signal, java.nio.charset.StandardCharsets.UTF_8);
    try {
      HttpResponse<String> page =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(base + "/v1/sagas?limit=500&waitingFor=" + query))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(page.statusCode()).as(page.body()).isEqualTo(200);
      JSON.readTree(page.body()).path("items").forEach(item -> ids.add(item.path("id").asText()));
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
    return ids;
  }

  private static void awaitListed(String signal, String id, boolean listed) {
    Eventually.until(
        id + (listed ? " listed" : " not listed") + " as waiting for " + signal,
        WAIT,
        () -> listed(signal).contains(id) == listed);
  }

  // ---- kill -9 while waiting ------------------------------------------------------------------

  @Test
  void sagasWaitingOnANodeKilledWithKill9TakeTheirSignalsOnTheNextNode() throws Exception {
    int sagas = 10;
    TestDatabase crashDb = TestDatabase.fresh();
    StubParticipant crashStub = StubParticipant.start();
    try (var nodes = new NodeProcesses(crashDb, CrashTestNode.class)) {
      Path logs = Files.createDirectories(Path.of("target", "signal-crash"));
      Path first = logs.resolve("first-node.log");
      Path second = logs.resolve("second-node.log");
      Process victim =
          nodes.launch(first, crashStub.baseUrl(), Integer.toString(sagas), "crash-signal");
      NodeProcesses.awaitLine(victim, first, "STARTED " + sagas, Duration.ofSeconds(90));
      // Every saga has done a and waits for "go".
      crashStub.awaitCalls("/a", sagas, WAIT);
      Eventually.until(
          "every saga's a written",
          WAIT,
          () ->
              crashDb.count(
                      "select count(*) from event_journal where event_ser_manifest like"
                          + " '%StepSucceeded'")
                  == sagas);
      victim.destroyForcibly();
      assertThat(victim.waitFor(30, TimeUnit.SECONDS)).isTrue();

      Process survivor = nodes.launch(second, crashStub.baseUrl());
      NodeProcesses.awaitLine(survivor, second, "UP", Duration.ofSeconds(90));
      String next = "http://127.0.0.1:" + NodeProcesses.httpPort(second);
      for (int i = 0; i < sagas; i++) {
        HttpResponse<String> answer =
            signal(next, "crash-signal-" + i, "go", "{\"go\":true}", "go-" + i);
        assertThat(answer.statusCode()).as(answer.body()).isEqualTo(202);
      }
      Eventually.until(
          "all " + sagas + " sagas completed",
          Duration.ofSeconds(90),
          () ->
              crashDb.count(
                      "select count(distinct persistence_id) from event_journal"
                          + " where event_ser_manifest like '%SagaCompleted'")
                  == sagas);
      assertThat(crashStub.maxTimesApplied()).isEqualTo(1);
      assertThat(crashStub.appliedKeys()).hasSize(sagas * 2);
      for (int i = 0; i < sagas; i++) {
        assertThat(crashStub.appliedKeys())
            .contains("crash-signal-" + i + "/a", "crash-signal-" + i + "/c");
      }
    } finally {
      crashStub.close();
    }
  }

  // ---- HTTP -----------------------------------------------------------------------------------

  private static String start(String base, String type, String scenario) throws Exception {
    String body =
        JSON.writeValueAsString(Map.of("type", type, "input", Map.of("scenario", scenario)));
    HttpResponse<String> response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(base + "/v1/sagas"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(201);
    return JSON.readTree(response.body()).get("id").asText();
  }

  private static HttpResponse<String> signal(
      String base, String id, String name, String payload, String key) throws Exception {
    return HTTP.send(
        HttpRequest.newBuilder(URI.create(base + "/v1/sagas/" + id + "/signals/" + name))
            .header("Content-Type", "application/json")
            .header("Idempotency-Key", key)
            .POST(HttpRequest.BodyPublishers.ofString(payload))
            .build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode get(String base, String path) {
    try {
      return JSON.readTree(
          HTTP.send(
                  HttpRequest.newBuilder(URI.create(base + "/v1/sagas/" + path)).build(),
                  HttpResponse.BodyHandlers.ofString())
              .body());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode awaitWaiting(String base, String id) {
    return Eventually.await(
        id + " waiting for a signal",
        WAIT,
        () -> {
          JsonNode view = get(base, id);
          return view.has("waitingFor") ? view : null;
        });
  }
}
