package io.sagaflow.api;

import static io.sagaflow.api.ApiFixture.json;
import static io.sagaflow.api.ApiFixture.orderInput;
import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.orchestrator.testing.Eventually;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The API's main flows and its idempotency, against a running node. */
class SagaApiIT {
  private static ApiFixture api;

  @BeforeAll
  static void start() {
    api = ApiFixture.start();
  }

  @AfterAll
  static void stop() {
    api.close();
  }

  private static String start(String id, String input) {
    return "{\"type\":\"order\",\"id\":\"" + id + "\",\"input\":" + input + "}";
  }

  @Test
  void newStartIs201WithLocationSameIs200ReplayedOtherIs409() {
    var created = api.postJson("/v1/sagas", start("idem-1", orderInput("idem-1")));
    var same = api.postJson("/v1/sagas", start("idem-1", orderInput("idem-1")));
    var other = api.postJson("/v1/sagas", start("idem-1", orderInput("idem-other")));

    assertThat(created.statusCode()).isEqualTo(201);
    assertThat(created.headers().firstValue("Location")).contains("/v1/sagas/idem-1");
    assertThat(json(created).get("id").asText()).isEqualTo("idem-1");
    assertThat(same.statusCode()).isEqualTo(200);
    assertThat(same.headers().firstValue("Idempotent-Replayed")).contains("true");
    assertThat(json(same).get("id").asText()).isEqualTo("idem-1");
    assertThat(other.statusCode()).isEqualTo(409);
    assertThat(other.headers().firstValue("Content-Type")).contains("application/problem+json");
    api.awaitStatus("idem-1", "COMPLETED");
  }

  @Test
  void twentyConcurrentIdenticalStartsMakeExactlyOneSaga() throws Exception {
    var pool = Executors.newFixedThreadPool(20);
    try {
      var futures = new ArrayList<CompletableFuture<HttpResponse<String>>>();
      for (int i = 0; i < 20; i++) {
        futures.add(
            CompletableFuture.supplyAsync(
                () -> api.postJson("/v1/sagas", start("burst-1", orderInput("burst-1"))), pool));
      }
      List<Integer> statuses =
          futures.stream().map(CompletableFuture::join).map(HttpResponse::statusCode).toList();

      assertThat(statuses).containsOnly(200, 201);
      assertThat(statuses).filteredOn(s -> s == 201).hasSize(1);
    } finally {
      pool.shutdownNow();
    }
    api.awaitStatus("burst-1", "COMPLETED");
    assertThat(
            api.db.count(
                "select count(*) from event_journal where persistence_id = 'saga|burst-1' and event_ser_manifest like '%SagaStarted'"))
        .isEqualTo(1);
    assertThat(api.stub.timesApplied("burst-1/reserve")).isEqualTo(1);
  }

  @Test
  void idFromTheIdempotencyKeyHeaderWhenTheBodyHasNone() {
    var response =
        api.postJson(
            "/v1/sagas",
            "{\"type\":\"order\",\"input\":" + orderInput("hdr-1") + "}",
            "Idempotency-Key",
            "hdr-1");

    assertThat(response.statusCode()).isEqualTo(201);
    assertThat(json(response).get("id").asText()).isEqualTo("hdr-1");
  }

  @Test
  void generatedIdWhenNeitherBodyNorHeaderHasOne() {
    var response =
        api.postJson("/v1/sagas", "{\"type\":\"order\",\"input\":" + orderInput("gen-1") + "}");

    assertThat(response.statusCode()).isEqualTo(201);
    assertThat(json(response).get("id").asText()).matches("[0-9a-f-]{36}");
  }

  @Test
  void getShowsStepsAndEventsShowTheHistory() {
    api.postJson("/v1/sagas", start("show-1", orderInput("show-1")));
    var view = api.awaitStatus("show-1", "COMPLETED");

    assertThat(view.get("type").asText()).isEqualTo("order");
    assertThat(view.get("steps")).hasSize(3);
    assertThat(view.get("steps").get(0).get("status").asText()).isEqualTo("SUCCEEDED");
    var events = json(api.get("/v1/sagas/show-1/events"));
    assertThat(events.get("events"))
        .extracting(e -> e.get("type").asText())
        .containsExactly("SagaStarted", "StepSucceeded", "StepSucceeded", "SagaCompleted");
    assertThat(api.get("/v1/sagas/nope").statusCode()).isEqualTo(404);
    assertThat(api.get("/v1/sagas/nope/events").statusCode()).isEqualTo(404);
  }

  @Test
  void failedSagaShowsWhyAndRetryResumesIt() {
    api.stub.on("/fail-1/ship").alwaysStatus(422);
    api.stub.on("/fail-1/refund").alwaysStatus(503);
    api.postJson("/v1/sagas", start("fail-1", orderInput("fail-1")));

    var failed = api.awaitStatus("fail-1", "FAILED");
    assertThat(failed.get("failure").asText()).contains("compensation of step 'charge'");
    api.stub.on("/fail-1/refund").respond(200, "{}");
    var retry = api.postJson("/v1/sagas/fail-1/retry", "", "Idempotency-Key", "op-1");
    assertThat(retry.statusCode()).isEqualTo(202);
    api.awaitStatus("fail-1", "COMPENSATED");
    assertThat(api.postJson("/v1/sagas/fail-1/retry", "", "Idempotency-Key", "op-1").statusCode())
        .isEqualTo(202);
    assertThat(api.postJson("/v1/sagas/fail-1/retry", "").statusCode()).isEqualTo(409);
  }

  @Test
  void cancelCompensatesARunningSagaAndIsRefusedWhenTerminal() {
    api.stub.on("/cancel-1/charge").delay(Duration.ofSeconds(3));
    api.postJson("/v1/sagas", start("cancel-1", orderInput("cancel-1")));
    api.stub.awaitCalls("/cancel-1/charge", 1, Duration.ofSeconds(10));

    var cancel = api.postJson("/v1/sagas/cancel-1/cancel", "{\"reason\":\"customer asked\"}");

    assertThat(cancel.statusCode()).isEqualTo(202);
    var view = api.awaitStatus("cancel-1", "COMPENSATED");
    assertThat(view.get("failure").asText()).isEqualTo("cancelled: customer asked");
    assertThat(api.postJson("/v1/sagas/cancel-1/cancel", "{}").statusCode()).isEqualTo(409);
    assertThat(api.postJson("/v1/sagas/nope/cancel", "{}").statusCode()).isEqualTo(404);
  }

  @Test
  void listIsNewestFirstWithFiltersAndCursor() {
    for (int i = 0; i < 5; i++) {
      api.postJson("/v1/sagas", start("list-" + i, orderInput("list-" + i)));
    }
    Eventually.until(
        "the index has the five sagas",
        Duration.ofSeconds(30),
        () ->
            json(api.get("/v1/sagas?type=order&limit=500"))
                .get("items")
                .findValuesAsText("id")
                .containsAll(List.of("list-0", "list-4")));

    var first = json(api.get("/v1/sagas?type=order&limit=2"));
    assertThat(first.get("items")).hasSize(2);
    var second =
        json(api.get("/v1/sagas?type=order&limit=2&cursor=" + first.get("nextCursor").asText()));
    assertThat(second.get("items").get(0).get("createdAt").asText())
        .isLessThanOrEqualTo(first.get("items").get(1).get("createdAt").asText());
    assertThat(api.get("/v1/sagas?status=COMPLETED&limit=500").statusCode()).isEqualTo(200);
    assertThat(api.get("/v1/sagas?status=NOPE").statusCode()).isEqualTo(400);
  }

  @Test
  void sagaTypesDescribeDefinitions() {
    var types = json(api.get("/v1/saga-types"));
    var order = json(api.get("/v1/saga-types/order"));

    assertThat(types.get("items").get(0).get("type").asText()).isEqualTo("order");
    assertThat(order.get("versions").get(0).get("steps"))
        .extracting(s -> s.get("name").asText())
        .containsExactly("reserve", "charge", "ship");
    assertThat(
            order
                .get("versions")
                .get(0)
                .get("steps")
                .get(0)
                .get("action")
                .get("participant")
                .asText())
        .isEqualTo("payments");
    assertThat(api.get("/v1/saga-types/nope").statusCode()).isEqualTo(404);
  }
}
