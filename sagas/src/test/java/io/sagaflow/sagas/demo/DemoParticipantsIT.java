package io.sagaflow.sagas.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.UUID;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class DemoParticipantsIT {

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static DemoParticipants participants;

  @BeforeAll
  static void start() {
    participants = DemoParticipants.start(0);
  }

  @AfterAll
  static void stop() {
    participants.close();
  }

  @Test
  void aRepeatedKeyGetsTheStoredAnswerAndAppliesNothing() throws Exception {
    String orderId = unique("order");
    String body = reservation(orderId, "SKU-1", 2);

    Answer first = post("inventory", "/reservations", orderId + "/reserve-inventory", body);
    Answer again = post("inventory", "/reservations", orderId + "/reserve-inventory", body);

    assertThat(first.status()).isEqualTo(201);
    assertThat(first.json().get("status").asText()).isEqualTo("RESERVED");
    assertThat(first.json().get("reservationId").asText()).startsWith("res-");
    assertThat(again.status()).isEqualTo(201);
    assertThat(again.json()).isEqualTo(first.json());
    assertThat(again.header("Idempotent-Replayed")).isEqualTo("true");
    assertThat(entriesFor("inventory", orderId))
        .singleElement()
        .satisfies(
            e -> {
              assertThat(e.get("operation").asText()).isEqualTo("reserve");
              assertThat(e.get("effect").asText()).isEqualTo("APPLIED");
              assertThat(e.get("idempotencyKey").asText())
                  .isEqualTo(orderId + "/reserve-inventory");
              assertThat(e.get("details").get("quantity").asInt()).isEqualTo(2);
            });
  }

  @Test
  void aKeyReusedForADifferentRequestIsRefused() throws Exception {
    String orderId = unique("order");
    String key = orderId + "/reserve-inventory";
    post("inventory", "/reservations", key, reservation(orderId, "SKU-1", 2));

    Answer reused = post("inventory", "/reservations", key, reservation(orderId, "SKU-1", 3));

    assertThat(reused.status()).isEqualTo(422);
    assertThat(reused.problemType()).endsWith("idempotency-key-reused");
    assertThat(entriesFor("inventory", orderId)).hasSize(1);
  }

  @Test
  void aSecondReservationForTheSameOrderUnderAnotherKeyIsAConflict() throws Exception {
    String orderId = unique("order");
    post(
        "inventory", "/reservations", "saga-a/reserve-inventory", reservation(orderId, "SKU-1", 1));

    Answer other =
        post(
            "inventory",
            "/reservations",
            "saga-b/reserve-inventory",
            reservation(orderId, "SKU-1", 1));

    assertThat(other.status()).isEqualTo(409);
    assertThat(other.problemType()).endsWith("already-exists");
  }

  @Test
  void outOfStockIsRejectedAndNothingIsReserved() throws Exception {
    String orderId = unique("order");

    Answer answer =
        post("inventory", "/reservations", orderId + "/r", reservation(orderId, "OUT-OF-STOCK", 1));

    assertThat(answer.status()).isEqualTo(409);
    assertThat(answer.header("Content-Type")).isEqualTo("application/problem+json");
    assertThat(answer.problemType()).endsWith("out-of-stock");
    assertThat(answer.json().get("detail").asText()).contains("OUT-OF-STOCK");
    assertThat(entriesFor("inventory", orderId)).isEmpty();
  }

  @Test
  void paymentsDeclineAmountsAboveOneThousandWith402() throws Exception {
    String orderId = unique("order");
    String tripId = unique("trip");

    Answer authorization =
        post("payments", "/authorizations", orderId + "/a", payment(orderId, "1000.01"));
    Answer charge = post("payments", "/charges", tripId + "/c", payment(tripId, "2500"));
    Answer withinLimit =
        post("payments", "/charges", unique("trip") + "/c", payment(unique("trip"), "1000"));

    assertThat(authorization.status()).isEqualTo(402);
    assertThat(authorization.problemType()).endsWith("payment-declined");
    assertThat(charge.status()).isEqualTo(402);
    assertThat(withinLimit.status()).isEqualTo(201);
    assertThat(withinLimit.json().get("status").asText()).isEqualTo("CAPTURED");
    assertThat(entriesFor("payments", orderId)).isEmpty();
    assertThat(entriesFor("payments", tripId)).isEmpty();
  }

  @Test
  void flightsAndHotelsHaveNothingForNowhere() throws Exception {
    String tripId = unique("trip");

    Answer flight =
        post(
            "flights",
            "/reservations",
            tripId + "/f",
            "{\"tripId\":\""
                + tripId
                + "\",\"traveler\":\"Ada\",\"from\":\"London\",\"to\":\"NOWHERE\",\"departOn\":\"2030-05-17\"}");
    Answer hotel =
        post(
            "hotels",
            "/reservations",
            tripId + "/h",
            "{\"tripId\":\""
                + tripId
                + "\",\"guest\":\"Ada\",\"city\":\"nowhere\",\"checkIn\":\"2030-05-17\",\"nights\":2}");

    assertThat(flight.status()).isEqualTo(422);
    assertThat(flight.problemType()).endsWith("unknown-destination");
    assertThat(hotel.status()).isEqualTo(422);
  }

  @Test
  void theFaultSwitchFailsTheNextCallsWithRetryAfterThenTheServiceRecovers() throws Exception {
    String tripId = unique("trip");
    String key = tripId + "/send-confirmation";
    String message =
        "{\"reference\":\"" + tripId + "\",\"recipient\":\"Ada\",\"template\":\"trip-confirmed\"}";

    Answer armed =
        request("POST", "notifications", "/faults", null, "{\"status\":503,\"count\":2}");
    Answer first = post("notifications", "/messages", key, message);
    Answer second = post("notifications", "/messages", key, message);
    Answer third = post("notifications", "/messages", key, message);

    assertThat(armed.status()).isEqualTo(200);
    assertThat(armed.json().get("fault").get("remaining").asInt()).isEqualTo(2);
    for (Answer faulted : List.of(first, second)) {
      assertThat(faulted.status()).isEqualTo(503);
      assertThat(faulted.header("Retry-After")).isEqualTo("1");
      assertThat(faulted.problemType()).endsWith("injected-fault");
    }
    assertThat(third.status()).isEqualTo(202);
    assertThat(third.json().get("status").asText()).isEqualTo("SENT");
    assertThat(entriesFor("notifications", tripId)).hasSize(1);
    assertThat(ledger("notifications").get("calls").get("faulted").asInt())
        .isGreaterThanOrEqualTo(2);
  }

  @Test
  void aPassThroughFaultOnlyDelaysTheCallWhichThenTakesEffect() throws Exception {
    String tripId = unique("trip");
    String body =
        "{\"tripId\":\""
            + tripId
            + "\",\"guest\":\"Ada\",\"city\":\"Lisbon\",\"checkIn\":\"2030-05-17\",\"nights\":2}";
    Answer refused =
        request(
            "POST",
            "hotels",
            "/faults",
            null,
            "{\"passThrough\":true,\"status\":503,\"delayMs\":10}");
    request("POST", "hotels", "/faults", null, "{\"passThrough\":true,\"delayMs\":300}");

    long started = System.nanoTime();
    Answer delayed = post("hotels", "/reservations", tripId + "/reserve-hotel", body);
    long elapsedMillis = (System.nanoTime() - started) / 1_000_000;

    assertThat(refused.status()).isEqualTo(400);
    assertThat(delayed.status()).isEqualTo(201);
    assertThat(delayed.json().get("checkOut").asText()).isEqualTo("2030-05-19");
    assertThat(elapsedMillis).isGreaterThanOrEqualTo(300);
    assertThat(entriesFor("hotels", tripId)).hasSize(1);
  }

  @Test
  void theFaultSwitchCanBeClearedAndRefusesTypos() throws Exception {
    request("POST", "shipping", "/faults", null, "{\"status\":500,\"count\":5}");

    Answer cleared = request("DELETE", "shipping", "/faults", null, null);
    Answer current = request("GET", "shipping", "/faults", null, null);
    Answer typo = request("POST", "shipping", "/faults", null, "{\"counts\":2}");

    assertThat(cleared.status()).isEqualTo(204);
    assertThat(current.json().get("fault").isNull()).isTrue();
    assertThat(typo.status()).isEqualTo(400);
    assertThat(typo.json().get("detail").asText()).contains("counts");
  }

  @Test
  void compensatingAnActionThatNeverHappenedSucceedsAndKeepsALateActionOut() throws Exception {
    String orderId = unique("order");

    Answer release =
        post(
            "inventory",
            "/reservations/" + orderId + "/release",
            orderId + "/reserve-inventory/compensation",
            null);
    Answer late =
        post(
            "inventory",
            "/reservations",
            orderId + "/reserve-inventory",
            reservation(orderId, "SKU-1", 1));

    assertThat(release.status()).isEqualTo(200);
    assertThat(release.json().get("status").asText()).isEqualTo("RELEASED");
    assertThat(release.json().get("nothingToUndo").asBoolean()).isTrue();
    assertThat(release.json().get("reservationId").isNull()).isTrue();
    assertThat(late.status()).isEqualTo(409);
    assertThat(late.problemType()).endsWith("already-released");
    assertThat(entriesFor("inventory", orderId))
        .extracting(e -> e.get("effect").asText())
        .containsExactly("NOTHING_TO_UNDO");
  }

  @Test
  void everyCompensationIsIdempotent() throws Exception {
    String orderId = unique("order");
    post("payments", "/authorizations", orderId + "/authorize-payment", payment(orderId, "99.50"));
    String compensationKey = orderId + "/authorize-payment/compensation";

    Answer voided = post("payments", "/authorizations/" + orderId + "/void", compensationKey, null);
    Answer replayed =
        post("payments", "/authorizations/" + orderId + "/void", compensationKey, null);
    Answer otherKey =
        post("payments", "/authorizations/" + orderId + "/void", "operator/void", null);

    assertThat(voided.status()).isEqualTo(200);
    assertThat(voided.json().get("nothingToUndo").asBoolean()).isFalse();
    assertThat(replayed.json()).isEqualTo(voided.json());
    assertThat(otherKey.status()).isEqualTo(200);
    assertThat(otherKey.json().get("nothingToUndo").asBoolean()).isTrue();
    assertThat(entriesFor("payments", orderId))
        .extracting(e -> e.get("effect").asText())
        .containsExactly("APPLIED", "UNDONE", "NOTHING_TO_UNDO");
    for (String[] cancel :
        new String[][] {
          {"shipping", "/shipments/" + orderId + "/cancel"},
          {"flights", "/reservations/" + orderId + "/cancel"},
          {"hotels", "/reservations/" + orderId + "/cancel"}
        }) {
      assertThat(post(cancel[0], cancel[1], orderId + "/" + cancel[0], null).status())
          .isEqualTo(200);
    }
  }

  @Test
  void malformedRequestsAre400ProblemsAndAreNotStored() throws Exception {
    String orderId = unique("order");
    String key = orderId + "/reserve-inventory";

    Answer notJson = post("inventory", "/reservations", key, "{\"orderId\":");
    Answer missingField =
        post("inventory", "/reservations", key, "{\"orderId\":\"" + orderId + "\",\"sku\":\"A\"}");
    Answer noKey =
        request("POST", "inventory", "/reservations", null, reservation(orderId, "A", 1));
    Answer fixed = post("inventory", "/reservations", key, reservation(orderId, "A", 1));

    assertThat(notJson.status()).isEqualTo(400);
    assertThat(notJson.problemType()).endsWith("malformed-json");
    assertThat(missingField.status()).isEqualTo(400);
    assertThat(missingField.json().get("detail").asText()).isEqualTo("quantity is required");
    assertThat(noKey.status()).isEqualTo(400);
    assertThat(noKey.problemType()).endsWith("missing-idempotency-key");
    assertThat(fixed.status()).isEqualTo(201);
  }

  @Test
  void unknownPathsAndMethodsAreProblems() throws Exception {
    assertThat(request("GET", "inventory", "/nothing-here", "k", null).status()).isEqualTo(404);
    Answer wrongMethod = request("GET", "inventory", "/reservations", "k", null);
    assertThat(wrongMethod.status()).isEqualTo(405);
    assertThat(wrongMethod.header("Allow")).isEqualTo("POST");
    var outside =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(participants.baseUrl("inventory") + "x/reservations"))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(outside.statusCode()).isEqualTo(404);
  }

  @Test
  void theLedgerListsEffectsWithTheirKeysAndCountsCalls() throws Exception {
    String orderId = unique("order");
    post(
        "shipping",
        "/shipments",
        orderId + "/create-shipment",
        "{\"orderId\":\""
            + orderId
            + "\",\"customerId\":\"c-1\",\"sku\":\"A\",\"quantity\":1,\"reservationId\":\"res-1\"}");
    request("POST", "shipping", "/shipments", orderId + "/create-shipment", null);

    JsonNode ledger = ledger("shipping");

    assertThat(ledger.get("service").asText()).isEqualTo("shipping");
    JsonNode entry = entriesFor("shipping", orderId).get(0);
    assertThat(entry.get("seq").asLong()).isPositive();
    assertThat(entry.get("at").asText()).isNotBlank();
    assertThat(entry.get("sagaId").asText()).isEqualTo("saga-" + orderId);
    assertThat(entry.get("details").get("shipmentId").asText()).startsWith("shp-");
    assertThat(ledger.get("calls").fieldNames())
        .toIterable()
        .containsExactly("received", "replayed", "faulted", "rejected", "invalid");
    assertThat(ledger.get("calls").get("replayed").asInt()).isZero();
    assertThat(ledger.get("calls").get("invalid").asInt()).isPositive();
  }

  @Test
  void theConfigPointsEveryParticipantAtItsService() {
    var config = participants.participantConfig();

    assertThat(DemoParticipants.SERVICES)
        .allSatisfy(
            s ->
                assertThat(config.getString("sagaflow.participants." + s + ".url"))
                    .isEqualTo("http://127.0.0.1:" + participants.port() + "/" + s));
    assertThatThrownBy(() -> participants.baseUrl("billing"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  // ---- helpers ------------------------------------------------------------------------------

  private record Answer(int status, JsonNode json, HttpResponse<String> response) {
    String header(String name) {
      return response.headers().firstValue(name).orElse(null);
    }

    String problemType() {
      return json.path("type").asText();
    }
  }

  private static String unique(String prefix) {
    return prefix + "-" + UUID.randomUUID().toString().substring(0, 8);
  }

  private static String reservation(String orderId, String sku, int quantity) {
    return "{\"orderId\":\""
        + orderId
        + "\",\"sku\":\""
        + sku
        + "\",\"quantity\":"
        + quantity
        + "}";
  }

  private static String payment(String reference, String amount) {
    return "{\"reference\":\"" + reference + "\",\"amount\":" + amount + ",\"currency\":\"EUR\"}";
  }

  private static Answer post(String service, String path, String key, String body)
      throws Exception {
    return request("POST", service, path, key, body);
  }

  private static Answer request(String method, String service, String path, String key, String body)
      throws IOException, InterruptedException {
    var builder =
        HttpRequest.newBuilder(URI.create(participants.baseUrl(service) + path))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      builder.header("Idempotency-Key", key).header("Saga-Id", "saga-" + key.split("/")[0]);
    }
    if (body != null) {
      builder.header("Content-Type", "application/json");
    }
    HttpResponse<String> response =
        HTTP.send(builder.build(), HttpResponse.BodyHandlers.ofString());
    JsonNode json = response.body().isEmpty() ? JSON.nullNode() : JSON.readTree(response.body());
    return new Answer(response.statusCode(), json, response);
  }

  private static JsonNode ledger(String service) throws Exception {
    return request("GET", service, "/ledger", null, null).json();
  }

  private static List<JsonNode> entriesFor(String service, String reference) throws Exception {
    return StreamSupport.stream(ledger(service).get("entries").spliterator(), false)
        .filter(e -> e.get("reference").asText().equals(reference))
        .toList();
  }
}
