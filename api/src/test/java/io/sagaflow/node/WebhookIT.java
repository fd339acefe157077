package io.sagaflow.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.testing.TestDatabase;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.stream.LongStream;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Webhooks from a real node to a real HTTP receiver, over real PostgreSQL: delivered at least once,
 * in order per saga, with no gap, each signed as Standard Webhooks says, through refusals, an
 * endpoint that is down for a while, and a subscription parked and resumed from its offset.
 */
class WebhookIT {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TOKEN = "webhook-it-token";
  private static final String SECRET =
      "whsec_" + Base64.getEncoder().encodeToString("0123456789abcdef0123456789abcdef".getBytes());

  private static final SagaDefinition<?> TRANSFER =
      SagaDefinition.builder("transfer")
          .defaultRetry(
              r ->
                  r.minBackoff(Duration.ofMillis(100)).maxBackoff(Duration.ofMillis(100)).jitter(0))
          .defaultTimeout(Duration.ofSeconds(10))
          .step(
              Step.named("debit")
                  .invoke(HttpCall.post("payments", "/debit").withBody(ctx -> ctx.input()))
                  .noCompensation())
          .step(
              Step.named("credit")
                  .invoke(HttpCall.post("payments", "/credit").withBody(ctx -> ctx.input()))
                  .noCompensation())
          .build();

  private static TestDatabase db;
  private static StubParticipant stub;
  private static WebhookReceiver receiver;
  private static SagaflowNode node;
  private static final HttpClient http = HttpClient.newHttpClient();

  @BeforeAll
  static void startNode() {
    db = TestDatabase.fresh();
    stub = StubParticipant.start();
    receiver = WebhookReceiver.start();
    var settings = new HashMap<String, Object>();
    settings.put("sagaflow.webhooks.allowed-urls", List.of(receiver.baseUrl() + "/hooks"));
    settings.put("sagaflow.webhooks.poll-interval", "200ms");
    // About 14 s of attempts at one event before its subscription is parked: longer than the
    // receiver is down in the first test, even on a busy machine.
    settings.put("sagaflow.webhooks.max-attempts", 30);
    settings.put("sagaflow.webhooks.min-backoff", "100ms");
    settings.put("sagaflow.webhooks.max-backoff", "500ms");
    settings.put("sagaflow.webhooks.save-offset-after-duration", "200ms");
    settings.put("sagaflow.http.tokens", TOKEN);
    node =
        SagaflowNode.start(
            ConfigFactory.parseMap(settings).withFallback(TestNodes.config(stub.baseUrl())),
            TestNodes.env(db),
            List.of(TRANSFER));
  }

  @AfterAll
  static void stopNode() {
    node.close();
    receiver.close();
    stub.close();
  }

  @Test
  void aReceiverThatFailsAndIsDownForAWhileGetsEveryEventSignedInOrderPerSaga() {
    receiver.failNext(3);
    JsonNode created =
        call(
            "POST",
            "/v1/subscriptions",
            "{\"url\":\"" + url("/hooks/all") + "\",\"secret\":\"" + SECRET + "\"}",
            201);
    String id = created.get("id").asText();
    assertThat(created.get("secret").asText()).isEqualTo(SECRET);
    assertThat(created.get("status").asText()).isEqualTo("ACTIVE");
    JsonNode listed = call("GET", "/v1/subscriptions", null, 200);
    assertThat(listed.toString()).contains(id).doesNotContain("secret").doesNotContain("whsec_");

    start("down-1");
    start("down-2");
    Eventually.until("the receiver refused three", WAIT, () -> receiver.refused() >= 3);
    receiver.down();
    start("down-3");
    start("down-4");
    TestNodes.awaitStatus(node, "down-4", SagaStatus.COMPLETED, WAIT);
    receiver.up();
    for (String saga : List.of("down-1", "down-2", "down-3", "down-4")) {
      TestNodes.awaitStatus(node, saga, SagaStatus.COMPLETED, WAIT);
    }

    List<Long> journal = orderings("down-%", null);
    Eventually.until(
        "every event delivered", WAIT, () -> distinctIds("/hooks/all").containsAll(journal));
    var deliveries = receiver.accepted("/hooks/all");
    deliveries.forEach(WebhookIT::assertSigned);
    // Duplicates may come (at least once); the first delivery of each event is in journal order.
    assertThat(distinctIds("/hooks/all")).containsExactlyElementsOf(journal);
    assertInOrderPerSaga(deliveries);
    assertThat(call("GET", "/v1/subscriptions/" + id, null, 200).get("status").asText())
        .isEqualTo("ACTIVE");
    call("DELETE", "/v1/subscriptions/" + id, null, 204);
    call("GET", "/v1/subscriptions/" + id, null, 404);
  }

  @Test
  void aParkedSubscriptionResumesFromItsOffset() {
    receiver.failAll(true);
    String id =
        call(
                "POST",
                "/v1/subscriptions",
                "{\"url\":\""
                    + url("/hooks/parked")
                    + "\",\"events\":[\"SagaStarted\","
                    + "\"SagaCompleted\"]}",
                201)
            .get("id")
            .asText();
    start("parked-1");
    JsonNode parked =
        Eventually.await(
            "the subscription parked",
            WAIT,
            () -> {
              JsonNode s = call("GET", "/v1/subscriptions/" + id, null, 200);
              return s.get("status").asText().equals("PARKED") ? s : null;
            });
    assertThat(parked.get("parkedReason").asText())
        .contains("was not delivered in 30 attempts")
        .contains("answered 503")
        .contains("saga 'parked-1'");
    start("parked-2");
    TestNodes.awaitStatus(node, "parked-1", SagaStatus.COMPLETED, WAIT);
    TestNodes.awaitStatus(node, "parked-2", SagaStatus.COMPLETED, WAIT);
    assertThat(receiver.accepted("/hooks/parked")).isEmpty();

    receiver.failAll(false);
    assertThat(
            call("POST", "/v1/subscriptions/" + id + "/resume", null, 200).get("status").asText())
        .isEqualTo("ACTIVE");

    List<Long> journal = orderings("parked-%", List.of("SagaStarted", "SagaCompleted"));
    assertThat(journal).hasSize(4);
    Eventually.until(
        "every event delivered after the resume",
        WAIT,
        () -> distinctIds("/hooks/parked").containsAll(journal));
    assertThat(distinctIds("/hooks/parked")).containsExactlyElementsOf(journal);
    receiver.accepted("/hooks/parked").forEach(WebhookIT::assertSigned);
    call("DELETE", "/v1/subscriptions/" + id, null, 204);
  }

  @Test
  void aUrlOutsideTheAllowListIsRefusedByName() throws Exception {
    for (String url :
        List.of(
            receiver.baseUrl() + "/elsewhere",
            receiver.baseUrl() + "/hooksmith",
            "http://169.254.169.254/latest/meta-data",
            "http://user:pw@127.0.0.1/hooks")) {
      HttpResponse<String> response =
          send("POST", "/v1/subscriptions", "{\"url\":\"" + url + "\"}", TOKEN);
      assertThat(response.statusCode()).as(url).isEqualTo(422);
      assertThat(response.headers().firstValue("Content-Type"))
          .contains("application/problem+json");
      assertThat(JSON.readTree(response.body()).get("detail").asText())
          .as(url)
          .containsAnyOf("sagaflow.webhooks.allowed-urls", "without credentials");
    }
    assertThat(
            send("POST", "/v1/subscriptions", "{\"url\":\"" + url("/hooks/x") + "\"}", null)
                .statusCode())
        .isEqualTo(401);
    assertThat(send("GET", "/v1/events?after=0", null, null).statusCode()).isEqualTo(401);
  }

  private static void assertSigned(WebhookReceiver.Delivery d) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(
          new SecretKeySpec(
              Base64.getDecoder().decode(SECRET.substring("whsec_".length())), "HmacSHA256"));
      String expected =
          "v1,"
              + Base64.getEncoder()
                  .encodeToString(
                      mac.doFinal(
                          (d.id() + "." + d.timestamp() + "." + d.body())
                              .getBytes(StandardCharsets.UTF_8)));
      if (d.path().equals("/hooks/all")) {
        assertThat(d.signature()).isEqualTo(expected);
      } else {
        // A generated secret: the test cannot know it, only its shape.
        assertThat(d.signature()).startsWith("v1,");
      }
      assertThat(JSON.readTree(d.body()).get("offset").asText()).isEqualTo(d.id());
    } catch (GeneralSecurityException | IOException e) {
      throw new AssertionError(e);
    }
  }

  private static void assertInOrderPerSaga(List<WebhookReceiver.Delivery> deliveries) {
    var bySaga = new LinkedHashMap<String, List<Long>>();
    var seen = new LinkedHashSet<String>();
    for (WebhookReceiver.Delivery d : deliveries) {
      if (!seen.add(d.id())) {
        continue;
      }
      try {
        JsonNode e = JSON.readTree(d.body());
        bySaga
            .computeIfAbsent(e.get("sagaId").asText(), k -> new ArrayList<>())
            .add(e.get("sequenceNr").asLong());
      } catch (IOException ex) {
        throw new AssertionError(ex);
      }
    }
    assertThat(bySaga).hasSize(4);
    bySaga.forEach(
        (saga, seqNrs) ->
            assertThat(seqNrs)
                .as(saga)
                .containsExactlyElementsOf(
                    LongStream.rangeClosed(1, seqNrs.size()).boxed().toList()));
  }

  private static List<Long> distinctIds(String path) {
    return receiver.accepted(path).stream().map(d -> Long.parseLong(d.id())).distinct().toList();
  }

  private static String url(String path) {
    return receiver.baseUrl() + path;
  }

  private static void start(String sagaId) {
    node.engine()
        .start(sagaId, "transfer", null, JSON.createObjectNode().put("amount", 5))
        .toCompletableFuture()
        .join();
  }

  /** The journal orderings of these sagas' events (of these types, when given), in order. */
  private static List<Long> orderings(String sagaIds, List<String> types) {
    String sql =
        "select ordering, event_ser_manifest from event_journal where persistence_id like 'saga|"
            + sagaIds
            + "' order by ordering";
    try (var c = db.connect();
        var s = c.createStatement();
        ResultSet rows = s.executeQuery(sql)) {
      var orderings = new ArrayList<Long>();
      while (rows.next()) {
        String manifest = rows.getString(2);
        String type = manifest.substring(manifest.lastIndexOf('$') + 1);
        if (types == null || types.contains(type)) {
          orderings.add(rows.getLong(1));
        }
      }
      return orderings;
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  private static JsonNode call(String method, String path, String body, int expected) {
    try {
      HttpResponse<String> response = send(method, path, body, TOKEN);
      assertThat(response.statusCode())
          .as(method + " " + path + ": " + response.body())
          .isEqualTo(expected);
      return response.body().isEmpty() ? null : JSON.readTree(response.body());
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static HttpResponse<String> send(String method, String path, String body, String token) {
    var request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.httpPort() + path))
            .timeout(Duration.ofSeconds(20))
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body));
    if (body != null) {
      request.header("Content-Type", "application/json");
    }
    if (token != null) {
      request.header("Authorization", "Bearer " + token);
    }
    try {
      return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new AssertionError(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
