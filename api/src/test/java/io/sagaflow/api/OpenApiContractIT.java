package io.sagaflow.api;

import static io.sagaflow.api.ApiFixture.orderInput;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.testing.Eventually;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;

/**
 * {@code openapi.yaml} is true: every documented answer of every operation is driven out of a real
 * node and validated against the document (status, media type, body schema, headers), and every
 * route the node serves is documented.
 *
 * <p>Two nodes: {@code api} without tokens for the ordinary answers, and {@code secured} (API token
 * {@code t1}, ask timeout 1 s) for authentication and for the database-trouble answers, which lock
 * and rename tables of its own database.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class OpenApiContractIT {
  private static final String TOKEN = "t1";
  private static final String[] AUTH = {"Authorization", "Bearer " + TOKEN};
  private static final Duration WAIT = Duration.ofSeconds(30);

  /** Reads event streams; held, since an unreachable client closes its connections. */
  private static final java.net.http.HttpClient STREAMS = java.net.http.HttpClient.newHttpClient();

  /** Allowed as a webhook target of the open node; nothing listens there. */
  private static final String HOOKS = "http://127.0.0.1:9/hooks";

  private static ApiFixture api;
  private static ApiFixture secured;
  private static OpenApiContract contract;

  private static final AtomicInteger passed = new AtomicInteger();

  /**
   * A type with two versions whose latest has a deadline, local steps, a pivot, unlimited retries
   * and no compensation where none is allowed: the shapes {@code order} does not show.
   */
  private static final SagaDefinition<?> SHAPES_V1 =
      SagaDefinition.builder("shapes")
          .step(
              Step.named("only")
                  .invoke(LocalCall.of(ctx -> CompletableFuture.completedFuture("done")))
                  .noCompensation())
          .build();

  /** A local step, then a wait for the signal "approval". */
  private static final SagaDefinition<?> APPROVED =
      SagaDefinition.builder("approved")
          .step(
              Step.named("prepare")
                  .invoke(LocalCall.of(ctx -> CompletableFuture.completedFuture("ready")))
                  .noCompensation())
          .step(
              Step.named("approval")
                  .awaitSignal(io.sagaflow.orchestrator.dsl.AwaitSignal.named("approval"))
                  .timeout(Duration.ofMinutes(5)))
          .build();

  private static final SagaDefinition<?> SHAPES_V2 =
      SagaDefinition.builder("shapes")
          .version(2)
          .deadline(Duration.ofHours(1))
          .step(
              Step.named("prepare")
                  .invoke(LocalCall.of(ctx -> CompletableFuture.completedFuture(List.of(1, 2))))
                  .compensateWith(LocalCall.of(ctx -> CompletableFuture.completedFuture(Map.of()))))
          .step(
              Step.named("commit")
                  .invoke(LocalCall.of(ctx -> CompletableFuture.completedFuture(42)))
                  .pivot())
          .step(
              Step.named("notify")
                  .invoke(
                      LocalCall.of(ctx -> CompletableFuture.completedFuture(Map.of("sent", true)))))
          .build();

  /** A parallel group, then a fan-out over two elements: the shapes of branches in a view. */
  private static final SagaDefinition<?> PARALLEL =
      SagaDefinition.builder("parallel")
          .group(
              "both",
              g ->
                  g.step(
                          Step.named("left")
                              .invoke(LocalCall.of(ctx -> Map.of("side", "left")))
                              .noCompensation())
                      .step(
                          Step.named("right")
                              .invoke(LocalCall.of(ctx -> Map.of("side", "right")))
                              .noCompensation()))
          .step(
              Step.named("each")
                  .forEach(ctx -> List.of("a", "b"), k -> k)
                  .maxConcurrency(1)
                  .invoke(LocalCall.of(ctx -> Map.of("key", ctx.elementKey())))
                  .noCompensation())
          .build();

  @RegisterExtension
  static final TestWatcher COUNT_PASSED =
      new TestWatcher() {
        @Override
        public void testSuccessful(ExtensionContext context) {
          passed.incrementAndGet();
        }
      };

  @BeforeAll
  static void start() {
    var open =
        CompletableFuture.supplyAsync(
            () ->
                ApiFixture.start(
                    Map.of("sagaflow.http.body-read-timeout", "2s"),
                    Map.of("SAGAFLOW_WEBHOOK_ALLOWED_URLS", HOOKS),
                    List.of(ApiFixture.STRICT, SHAPES_V1, SHAPES_V2, PARALLEL, APPROVED)));
    var withTokens =
        CompletableFuture.supplyAsync(
            () ->
                ApiFixture.start(
                    Map.of("sagaflow.engine.ask-timeout", "1s"),
                    Map.of("SAGAFLOW_API_TOKENS", TOKEN)));
    CompletableFuture.allOf(open, withTokens).exceptionally(e -> null).join();
    api = open.isCompletedExceptionally() ? null : open.join();
    secured = withTokens.isCompletedExceptionally() ? null : withTokens.join();
    // Rethrows a failed start; @AfterAll closes the node that did start.
    open.join();
    withTokens.join();
    // The document as the node serves it, without a token although tokens are configured.
    var served = secured.get("/openapi.yaml");
    assertThat(served.statusCode()).as(served.body()).isEqualTo(200);
    contract = OpenApiContract.parse(served.body());
  }

  @AfterAll
  static void stop() {
    try {
      if (passed.get() == testCount()) {
        // Every documented answer was driven out of the node and checked (405 is path-level).
        var expected = new TreeSet<>(contract.documentedAnswers());
        expected.add("405");
        assertThat(contract.seenAnswers()).isEqualTo(expected);
      }
    } finally {
      if (api != null) {
        api.close();
      }
      if (secured != null) {
        secured.close();
      }
    }
  }

  private static long testCount() {
    return Arrays.stream(OpenApiContractIT.class.getDeclaredMethods())
        .filter(m -> m.isAnnotationPresent(Test.class))
        .count();
  }

  // ---- the document ----------------------------------------------------------------------------

  @Test
  @Order(1)
  void theMetricsAreServedOpenlyInPrometheusTextFormat() {
    var metrics = secured.get("/metrics");
    contract.check("GET", "/metrics", metrics);
    contract.check("GET", "/metrics", api.get("/metrics"));
    assertThat(metrics.statusCode()).isEqualTo(200);
    assertThat(metrics.headers().firstValue("Content-Type").orElse("").replace(" ", ""))
        .startsWith("text/plain;version=0.0.4");
    assertThat(metrics.body()).contains("# TYPE sagaflow_sagas_started_total counter");
  }

  @Test
  @Order(1)
  void theDocumentIsServedOpenlyAndIsTheBundledOpenApi31File() throws IOException {
    var unauthenticated = secured.get("/openapi.yaml");
    contract.check("GET", "/openapi.yaml", unauthenticated);
    contract.check("GET", "/openapi.yaml", api.get("/openapi.yaml"));
    try (InputStream in = getClass().getClassLoader().getResourceAsStream("openapi.yaml")) {
      assertThat(in).as("openapi.yaml on the class path").isNotNull();
      assertThat(OpenApiContract.readYaml(unauthenticated.body()))
          .isEqualTo(
              OpenApiContract.readYaml(new String(in.readAllBytes(), StandardCharsets.UTF_8)));
    }
    // A static resource: conditional and range requests, and content negotiation.
    String etag = unauthenticated.headers().firstValue("ETag").orElseThrow();
    var notModified = send(secured, "GET", "/openapi.yaml", null, null, "If-None-Match", etag);
    contract.check("GET", "/openapi.yaml", notModified);
    assertThat(notModified.statusCode()).isEqualTo(304);
    var range = send(secured, "GET", "/openapi.yaml", null, null, "Range", "bytes=0-13");
    contract.check("GET", "/openapi.yaml", range);
    assertThat(range.statusCode()).isEqualTo(206);
    assertThat(range.body()).isEqualTo("openapi: 3.1.0");
    var unsatisfiable =
        send(secured, "GET", "/openapi.yaml", null, null, "Range", "bytes=99999999-");
    assertThat(contract.check("GET", "/openapi.yaml", unsatisfiable).get("status").asInt())
        .isEqualTo(416);
    var notAcceptable =
        send(secured, "GET", "/openapi.yaml", null, null, "Accept", "application/json");
    assertThat(contract.check("GET", "/openapi.yaml", notAcceptable).get("status").asInt())
        .isEqualTo(406);

    JsonNode doc = contract.document;
    assertThat(doc.path("openapi").asText()).startsWith("3.1.");
    // Every reference resolves; operation ids are unique; every error answer is a problem.
    assertReferencesResolve(doc, "");
    var operationIds = new ArrayList<String>();
    contract
        .methodsByPath()
        .forEach(
            (path, methods) ->
                methods.forEach(
                    method -> {
                      JsonNode operation = contract.operation(method, path);
                      operationIds.add(operation.path("operationId").asText());
                      operation
                          .path("responses")
                          .fields()
                          .forEachRemaining(
                              answer -> {
                                if (answer.getKey().matches("[45]..|default")) {
                                  assertThat(
                                          contract
                                              .resolve(answer.getValue())
                                              .path("content")
                                              .fieldNames())
                                      .toIterable()
                                      .as("%s %s %s", method, path, answer.getKey())
                                      .containsExactly("application/problem+json");
                                }
                              });
                    }));
    assertThat(operationIds).doesNotHaveDuplicates().doesNotContain("");
    // /openapi.yaml and /metrics are open; everything under /v1 is behind the bearer scheme.
    assertThat(doc.at("/components/securitySchemes/bearerAuth/scheme").asText())
        .isEqualTo("bearer");
    for (String open :
        List.of("/paths/~1openapi.yaml/get/security", "/paths/~1metrics/get/security")) {
      JsonNode openSecurity = doc.at(open);
      assertThat(openSecurity.isArray() && openSecurity.isEmpty())
          .as("security: [] at %s", open)
          .isTrue();
    }
    assertThat(doc.at("/security/0/bearerAuth").isArray()).isTrue();
  }

  private static void assertReferencesResolve(JsonNode node, String at) {
    if (node.has("$ref")) {
      String ref = node.get("$ref").asText();
      assertThat(ref).as("local reference at %s", at).startsWith("#/");
      assertThat(contract.document.at(ref.substring(1)).isMissingNode())
          .as("%s at %s resolves", ref, at)
          .isFalse();
    }
    if (node.isContainerNode()) {
      node.fields()
          .forEachRemaining(f -> assertReferencesResolve(f.getValue(), at + "/" + f.getKey()));
      if (node.isArray()) {
        for (int i = 0; i < node.size(); i++) {
          assertReferencesResolve(node.get(i), at + "/" + i);
        }
      }
    }
  }

  // ---- sagas -----------------------------------------------------------------------------------

  private static String start(String id, String input) {
    return "{\"type\":\"order\",\"id\":\"" + id + "\",\"input\":" + input + "}";
  }

  @Test
  @Order(2)
  void startSagaAnswers() {
    var created = api.postJson("/v1/sagas", start("c-start", orderInput("c-start")));
    JsonNode view = contract.check("POST", "/v1/sagas", created);
    assertThat(created.statusCode()).isEqualTo(201);
    assertThat(created.headers().firstValue("Location")).contains("/v1/sagas/c-start");
    assertThat(view.get("id").asText()).isEqualTo("c-start");

    var replayed = api.postJson("/v1/sagas", start("c-start", orderInput("c-start")));
    contract.check("POST", "/v1/sagas", replayed);
    assertThat(replayed.statusCode()).isEqualTo(200);
    assertThat(replayed.headers().firstValue("Idempotent-Replayed")).contains("true");
    assertThat(replayed.headers().firstValue("Location")).contains("/v1/sagas/c-start");

    var fromHeader =
        api.postJson(
            "/v1/sagas",
            "{\"type\":\"order\",\"input\":" + orderInput("c-hdr") + "}",
            "Idempotency-Key",
            "c-hdr");
    assertThat(contract.check("POST", "/v1/sagas", fromHeader).get("id").asText())
        .isEqualTo("c-hdr");
    var generated =
        api.postJson(
            "/v1/sagas",
            "{\"type\":\"order\",\"version\":1,\"input\":" + orderInput("c-gen") + "}");
    assertThat(contract.check("POST", "/v1/sagas", generated).get("id").asText())
        .matches("[0-9a-f-]{36}");
    assertThat(generated.statusCode()).isEqualTo(201);

    var conflict = api.postJson("/v1/sagas", start("c-start", orderInput("c-other")));
    assertThat(status(contract.check("POST", "/v1/sagas", conflict))).isEqualTo(409);

    Map<String, String> badBodies = new LinkedHashMap<>();
    badBodies.put("{", null);
    badBodies.put("", null);
    badBodies.put("[1]", null);
    badBodies.put("{\"type\":\"order\",\"input\":{},\"extra\":1}", "extra");
    badBodies.put("{\"input\":{}}", "type");
    badBodies.put("{\"type\":\" \",\"input\":{}}", "type");
    badBodies.put("{\"type\":\"order\",\"input\":[]}", "input");
    badBodies.put("{\"type\":\"order\",\"input\":{},\"version\":0}", "version");
    badBodies.put("{\"type\":\"order\",\"input\":{},\"version\":1.5}", "version");
    badBodies.put("{\"type\":\"order\",\"input\":{},\"id\":\"a b\"}", "id");
    badBodies.put("{\"type\":\"order\",\"input\":{},\"id\":7}", "id");
    badBodies.put("{\"type\":\"order\",\"input\":{},\"id\":null}", "id");
    badBodies.put("{\"type\":\"order\",\"input\":{},\"version\":null}", "version");
    badBodies.put("[".repeat(100) + "]".repeat(100), null);
    badBodies.forEach(
        (body, field) -> {
          JsonNode problem = contract.check("POST", "/v1/sagas", api.postJson("/v1/sagas", body));
          assertThat(status(problem)).as(body).isEqualTo(400);
          assertThat(problem.path("field").asText(null)).as(body).isEqualTo(field);
        });
    JsonNode mismatch =
        contract.check(
            "POST",
            "/v1/sagas",
            api.postJson("/v1/sagas", start("c-a", "{}"), "Idempotency-Key", "c-b"));
    assertThat(mismatch.get("field").asText()).isEqualTo("Idempotency-Key");
    JsonNode badKey =
        contract.check(
            "POST",
            "/v1/sagas",
            api.postJson(
                "/v1/sagas", "{\"type\":\"order\",\"input\":{}}", "Idempotency-Key", "no spaces"));
    assertThat(badKey.get("field").asText()).isEqualTo("Idempotency-Key");

    String oversized =
        "{\"type\":\"order\",\"input\":{\"pad\":\"" + "x".repeat(1024 * 1024) + "\"}}";
    assertThat(status(contract.check("POST", "/v1/sagas", api.postJson("/v1/sagas", oversized))))
        .isEqualTo(413);
    assertThat(
            status(
                contract.check(
                    "POST",
                    "/v1/sagas",
                    send(api, "POST", "/v1/sagas", "text/plain", start("c-text", "{}")))))
        .isEqualTo(415);
    assertThat(
            status(
                contract.check(
                    "POST",
                    "/v1/sagas",
                    send(api, "POST", "/v1/sagas", null, start("c-none", "{}")))))
        .isEqualTo(415);
    assertThat(status(contract.check("POST", "/v1/sagas", bodyCutShort("/v1/sagas"))))
        .isEqualTo(408);

    JsonNode unknownType =
        contract.check(
            "POST", "/v1/sagas", api.postJson("/v1/sagas", "{\"type\":\"nope\",\"input\":{}}"));
    assertThat(unknownType.get("status").asInt()).isEqualTo(422);
    assertThat(unknownType.get("type").asText()).endsWith("/unknown-saga-type");
    JsonNode unknownVersion =
        contract.check(
            "POST",
            "/v1/sagas",
            api.postJson("/v1/sagas", "{\"type\":\"order\",\"version\":2,\"input\":{}}"));
    assertThat(unknownVersion.get("status").asInt()).isEqualTo(422);
    assertThat(unknownVersion.get("field").asText()).isEqualTo("type");
    JsonNode invalidInput =
        contract.check(
            "POST",
            "/v1/sagas",
            api.postJson(
                "/v1/sagas",
                "{\"type\":\"strict\",\"input\":{\"customerId\":\"c\",\"quantity\":0}}"));
    assertThat(invalidInput.get("status").asInt()).isEqualTo(422);
    assertThat(invalidInput.get("type").asText()).endsWith("/invalid-input");
    assertThat(invalidInput.get("field").asText()).isEqualTo("input");

    api.awaitStatus("c-start", "COMPLETED");
  }

  @Test
  @Order(3)
  void readSagaAndEventsAnswers() {
    api.postJson("/v1/sagas", start("r-1", orderInput("r-1")));
    // The latest shapes version: a deadline, and outputs that are a string, an array, a number...
    JsonNode shapes =
        contract.check(
            "POST",
            "/v1/sagas",
            api.postJson("/v1/sagas", "{\"type\":\"shapes\",\"id\":\"r-shapes\",\"input\":{}}"));
    assertThat(shapes.get("version").asInt()).isEqualTo(2);
    assertThat(shapes.get("deadline").isTextual()).isTrue();
    api.postJson(
        "/v1/sagas", "{\"type\":\"shapes\",\"id\":\"r-shapes-1\",\"version\":1,\"input\":{}}");
    api.postJson(
        "/v1/sagas",
        "{\"type\":\"strict\",\"id\":\"r-strict\",\"input\":{\"customerId\":\"c\",\"quantity\":1}}");
    api.postJson("/v1/sagas", "{\"type\":\"parallel\",\"id\":\"r-parallel\",\"input\":{}}");
    api.awaitStatus("r-1", "COMPLETED");
    for (String id : List.of("r-shapes", "r-shapes-1", "r-strict", "r-parallel")) {
      api.awaitStatus(id, "COMPLETED");
      contract.check("GET", "/v1/sagas/{id}", api.get("/v1/sagas/" + id));
      contract.check("GET", "/v1/sagas/{id}/events", api.get("/v1/sagas/" + id + "/events"));
    }

    JsonNode parallel = contract.check("GET", "/v1/sagas/{id}", api.get("/v1/sagas/r-parallel"));
    assertThat(parallel.get("steps").get(0).get("branches")).hasSize(2);
    assertThat(parallel.get("steps").get(1).get("output").findValuesAsText("key"))
        .containsExactly("a", "b");
    JsonNode view = contract.check("GET", "/v1/sagas/{id}", api.get("/v1/sagas/r-1"));
    assertThat(view.get("status").asText()).isEqualTo("COMPLETED");
    assertThat(view.get("steps")).hasSize(3);
    assertThat(status(contract.check("GET", "/v1/sagas/{id}", api.get("/v1/sagas/r-nope"))))
        .isEqualTo(404);
    assertThat(status(contract.check("GET", "/v1/sagas/{id}", api.get("/v1/sagas/no%20such%00id"))))
        .isEqualTo(404);

    JsonNode events =
        contract.check("GET", "/v1/sagas/{id}/events", api.get("/v1/sagas/r-1/events"));
    assertThat(events.get("events"))
        .extracting(e -> e.get("type").asText())
        .containsExactly("SagaStarted", "StepSucceeded", "StepSucceeded", "SagaCompleted");
    assertThat(
            status(
                contract.check("GET", "/v1/sagas/{id}/events", api.get("/v1/sagas/r-nope/events"))))
        .isEqualTo(404);

    // Neither read takes a query parameter: one is refused, not ignored.
    JsonNode withQuery = contract.check("GET", "/v1/sagas/{id}", api.get("/v1/sagas/r-1?x=1"));
    assertThat(status(withQuery)).isEqualTo(400);
    assertThat(withQuery.get("field").asText()).isEqualTo("x");
    JsonNode eventsWithQuery =
        contract.check("GET", "/v1/sagas/{id}/events", api.get("/v1/sagas/r-1/events?after=1"));
    assertThat(status(eventsWithQuery)).isEqualTo(400);
    assertThat(eventsWithQuery.get("field").asText()).isEqualTo("after");
  }

  @Test
  @Order(4)
  void cancelAnswers() {
    api.stub.on("/k-run/charge").delay(Duration.ofSeconds(3));
    api.postJson("/v1/sagas", start("k-run", orderInput("k-run")));
    api.stub.awaitCalls("/k-run/charge", 1, Duration.ofSeconds(10));

    var cancelled =
        api.postJson(
            "/v1/sagas/k-run/cancel",
            "{\"reason\":\"customer asked\"}",
            "Idempotency-Key",
            "k-cmd");
    JsonNode view = contract.check("POST", "/v1/sagas/{id}/cancel", cancelled);
    assertThat(cancelled.statusCode()).isEqualTo(202);
    assertThat(view.get("status").asText()).isEqualTo("COMPENSATING");
    var repeated =
        api.postJson(
            "/v1/sagas/k-run/cancel",
            "{\"reason\":\"customer asked\"}",
            "Idempotency-Key",
            "k-cmd");
    contract.check("POST", "/v1/sagas/{id}/cancel", repeated);
    assertThat(repeated.statusCode()).isEqualTo(202);
    JsonNode compensated = api.awaitStatus("k-run", "COMPENSATED");
    contract.check("GET", "/v1/sagas/{id}", api.get("/v1/sagas/k-run"));
    assertThat(compensated.get("failure").asText()).isEqualTo("cancelled: customer asked");

    // The body is optional: a cancel without one is judged on the saga alone (here: terminal).
    assertThat(
            status(
                contract.check(
                    "POST",
                    "/v1/sagas/{id}/cancel",
                    send(api, "POST", "/v1/sagas/k-run/cancel", null, null))))
        .isEqualTo(409);
    assertThat(
            status(
                contract.check(
                    "POST",
                    "/v1/sagas/{id}/cancel",
                    api.postJson("/v1/sagas/k-nope/cancel", "{}"))))
        .isEqualTo(404);
    for (String bad : List.of("{", "[]", "{\"reason\":3}", "{\"reason\":null}")) {
      assertThat(
              status(
                  contract.check(
                      "POST",
                      "/v1/sagas/{id}/cancel",
                      api.postJson("/v1/sagas/k-run/cancel", bad))))
          .as(bad)
          .isEqualTo(400);
    }
    assertThat(
            status(
                contract.check(
                    "POST",
                    "/v1/sagas/{id}/cancel",
                    api.postJson("/v1/sagas/k-run/cancel", "{}", "Idempotency-Key", "bad key"))))
        .isEqualTo(400);
    String oversized = "{\"reason\":\"" + "x".repeat(1024 * 1024) + "\"}";
    assertThat(
            status(
                contract.check(
                    "POST",
                    "/v1/sagas/{id}/cancel",
                    api.postJson("/v1/sagas/k-run/cancel", oversized))))
        .isEqualTo(413);
    assertThat(
            status(
                contract.check(
                    "POST",
                    "/v1/sagas/{id}/cancel",
                    send(api, "POST", "/v1/sagas/k-run/cancel", "text/plain", "stop"))))
        .isEqualTo(415);
    assertThat(
            status(
                contract.check(
                    "POST", "/v1/sagas/{id}/cancel", bodyCutShort("/v1/sagas/k-run/cancel"))))
        .isEqualTo(408);
  }

  @Test
  @Order(5)
  void retryAnswers() {
    api.stub.on("/f-1/ship").alwaysStatus(422);
    api.stub.on("/f-1/refund").alwaysStatus(503);
    api.postJson("/v1/sagas", start("f-1", orderInput("f-1")));
    api.awaitStatus("f-1", "FAILED");
    JsonNode failed = contract.check("GET", "/v1/sagas/{id}", api.get("/v1/sagas/f-1"));
    assertThat(failed.get("failure").isTextual()).isTrue();
    contract.check("GET", "/v1/sagas/{id}/events", api.get("/v1/sagas/f-1/events"));

    api.stub.on("/f-1/refund").respond(200, "{\"refunded\":true}");
    var resumed = send(api, "POST", "/v1/sagas/f-1/retry", null, null, "Idempotency-Key", "f-cmd");
    contract.check("POST", "/v1/sagas/{id}/retry", resumed);
    assertThat(resumed.statusCode()).isEqualTo(202);
    api.awaitStatus("f-1", "COMPENSATED");
    var repeated = send(api, "POST", "/v1/sagas/f-1/retry", null, null, "Idempotency-Key", "f-cmd");
    contract.check("POST", "/v1/sagas/{id}/retry", repeated);
    assertThat(repeated.statusCode()).isEqualTo(202);

    assertThat(
            status(
                contract.check(
                    "POST",
                    "/v1/sagas/{id}/retry",
                    send(api, "POST", "/v1/sagas/f-1/retry", null, null))))
        .isEqualTo(409);
    assertThat(
            status(
                contract.check(
                    "POST",
                    "/v1/sagas/{id}/retry",
                    send(api, "POST", "/v1/sagas/f-nope/retry", null, null))))
        .isEqualTo(404);
    assertThat(
            status(
                contract.check(
                    "POST",
                    "/v1/sagas/{id}/retry",
                    send(
                        api,
                        "POST",
                        "/v1/sagas/f-1/retry",
                        null,
                        null,
                        "Idempotency-Key",
                        "bad key"))))
        .isEqualTo(400);
  }

  @Test
  @Order(5)
  void signalAnswers() {
    api.postJson("/v1/sagas", "{\"type\":\"approved\",\"id\":\"g-1\",\"input\":{}}");
    JsonNode waiting =
        Eventually.await(
            "g-1 waiting for its approval",
            WAIT,
            () -> {
              JsonNode view = OpenApiContract.parseBody(api.get("/v1/sagas/g-1"));
              return view.has("waitingFor") ? view : null;
            });
    contract.check("GET", "/v1/sagas/{id}", api.get("/v1/sagas/g-1"));
    assertThat(waiting.at("/waitingFor/signal").asText()).isEqualTo("approval");

    String path = "/v1/sagas/{id}/signals/{name}";
    var signalled =
        api.postJson("/v1/sagas/g-1/signals/approval", "{\"ok\":true}", "Idempotency-Key", "g-sig");
    contract.check("POST", path, signalled);
    assertThat(signalled.statusCode()).isEqualTo(202);
    var repeated =
        api.postJson("/v1/sagas/g-1/signals/approval", "{\"ok\":true}", "Idempotency-Key", "g-sig");
    contract.check("POST", path, repeated);
    assertThat(repeated.statusCode()).isEqualTo(202);
    api.awaitStatus("g-1", "COMPLETED");

    assertThat(
            status(
                contract.check("POST", path, api.postJson("/v1/sagas/g-1/signals/approval", "1"))))
        .isEqualTo(409);
    assertThat(
            status(
                contract.check("POST", path, api.postJson("/v1/sagas/g-1/signals/payment", "{}"))))
        .isEqualTo(422);
    assertThat(
            status(
                contract.check(
                    "POST", path, api.postJson("/v1/sagas/g-nope/signals/approval", "{}"))))
        .isEqualTo(404);
    assertThat(
            status(
                contract.check("POST", path, api.postJson("/v1/sagas/g-1/signals/approval", "{"))))
        .isEqualTo(400);
    assertThat(
            status(
                contract.check(
                    "POST",
                    path,
                    api.postJson(
                        "/v1/sagas/g-1/signals/approval", "{}", "Idempotency-Key", "bad key"))))
        .isEqualTo(400);
    String oversized = "{\"note\":\"" + "x".repeat(1024 * 1024) + "\"}";
    assertThat(
            status(
                contract.check(
                    "POST", path, api.postJson("/v1/sagas/g-1/signals/approval", oversized))))
        .isEqualTo(413);
    assertThat(
            status(
                contract.check(
                    "POST",
                    path,
                    send(api, "POST", "/v1/sagas/g-1/signals/approval", "text/plain", "yes"))))
        .isEqualTo(415);
  }

  @Test
  @Order(6)
  void listAnswers() {
    for (String id : List.of("l-1", "l-2", "l-3")) {
      api.postJson("/v1/sagas", start(id, orderInput(id)));
    }
    // A listed saga with a failure (k-run was cancelled), and pages that follow each other.
    Eventually.until(
        "the index lists the sagas, k-run with its failure",
        WAIT,
        () -> {
          JsonNode page = OpenApiContract.parseBody(api.get("/v1/sagas?type=order&limit=500"));
          List<String> ids = page.get("items").findValuesAsText("id");
          return ids.containsAll(List.of("l-1", "l-2", "l-3"))
              && page.get("items").findParents("failure").stream()
                  .anyMatch(i -> i.get("id").asText().equals("k-run"));
        });
    JsonNode all = contract.check("GET", "/v1/sagas", api.get("/v1/sagas?type=order&limit=500"));
    assertThat(all.get("nextCursor").isNull()).isTrue();
    JsonNode first = contract.check("GET", "/v1/sagas", api.get("/v1/sagas?limit=2"));
    assertThat(first.get("items")).hasSize(2);
    assertThat(first.get("nextCursor").isTextual()).isTrue();
    contract.check(
        "GET",
        "/v1/sagas",
        api.get("/v1/sagas?limit=2&cursor=" + first.get("nextCursor").asText()));
    contract.check("GET", "/v1/sagas", api.get("/v1/sagas?status=completed&type=order"));

    for (String query :
        List.of(
            "status=NOPE",
            "limit=0",
            "limit=501",
            "limit=x",
            "cursor=not-a-cursor",
            "sort=",
            "limit=1&limit=2")) {
      JsonNode problem = contract.check("GET", "/v1/sagas", api.get("/v1/sagas?" + query));
      assertThat(status(problem)).as(query).isEqualTo(400);
      assertThat(problem.get("field").asText())
          .as(query)
          .isEqualTo(query.substring(0, query.indexOf('=')));
    }
  }

  @Test
  @Order(7)
  void sagaTypeAnswers() {
    JsonNode types = contract.check("GET", "/v1/saga-types", api.get("/v1/saga-types"));
    assertThat(types.get("items").findValuesAsText("type"))
        .containsExactlyInAnyOrder("order", "strict", "shapes", "parallel", "approved");
    JsonNode parallel =
        contract.check("GET", "/v1/saga-types/{type}", api.get("/v1/saga-types/parallel"));
    JsonNode branches = parallel.get("versions").get(0).get("steps");
    assertThat(branches.get(0).get("group").asText()).isEqualTo("both");
    assertThat(branches.get(2).get("fanOut").get("maxConcurrency").asInt()).isEqualTo(1);
    JsonNode order =
        contract.check("GET", "/v1/saga-types/{type}", api.get("/v1/saga-types/order"));
    assertThat(order.get("versions").get(0).get("steps")).hasSize(3);
    contract.check("GET", "/v1/saga-types/{type}", api.get("/v1/saga-types/strict"));
    JsonNode shapes =
        contract.check("GET", "/v1/saga-types/{type}", api.get("/v1/saga-types/shapes"));
    JsonNode latest = shapes.get("versions").get(1);
    assertThat(latest.get("deadline").asText()).isEqualTo("PT1H");
    assertThat(latest.get("steps"))
        .extracting(step -> step.get("kind").asText())
        .containsExactly("COMPENSATABLE", "PIVOT", "RETRIABLE");
    assertThat(latest.get("steps").get(1).get("retry").get("maxAttempts").isNull()).isTrue();
    assertThat(
            status(contract.check("GET", "/v1/saga-types/{type}", api.get("/v1/saga-types/nope"))))
        .isEqualTo(404);

    JsonNode listWithQuery =
        contract.check("GET", "/v1/saga-types", api.get("/v1/saga-types?type=order"));
    assertThat(status(listWithQuery)).isEqualTo(400);
    assertThat(listWithQuery.get("field").asText()).isEqualTo("type");
    JsonNode typeWithQuery =
        contract.check("GET", "/v1/saga-types/{type}", api.get("/v1/saga-types/order?version=1"));
    assertThat(status(typeWithQuery)).isEqualTo(400);
    assertThat(typeWithQuery.get("field").asText()).isEqualTo("version");
  }

  @Test
  @Order(7)
  void eventStreamAndSubscriptionAnswers() throws IOException {
    // The stream never ends: its head and first event are checked, then the connection dropped.
    var stream = firstEvent(api, "/v1/events?after=0&event=SagaStarted");
    contract.check("GET", "/v1/events", stream);
    assertThat(stream.body())
        .containsPattern("(?m)^event: ?SagaStarted$")
        .containsPattern("(?m)^id: ?\\d+$");
    for (String query : List.of("after=-1", "after=x", "event=NoSuchEvent", "limit=1")) {
      JsonNode problem = contract.check("GET", "/v1/events", api.get("/v1/events?" + query));
      assertThat(status(problem)).as(query).isEqualTo(400);
      assertThat(problem.get("field").asText())
          .as(query)
          .isEqualTo(query.substring(0, query.indexOf('=')));
    }
    JsonNode badId =
        contract.check(
            "GET", "/v1/events", send(api, "GET", "/v1/events", null, null, "Last-Event-ID", "x"));
    assertThat(badId.get("field").asText()).isEqualTo("Last-Event-ID");

    String secret = "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
    JsonNode created =
        contract.check(
            "POST",
            "/v1/subscriptions",
            api.postJson(
                "/v1/subscriptions",
                "{\"url\":\""
                    + HOOKS
                    + "/a\",\"events\":[\"SagaFailed\"],\"secret\":\""
                    + secret
                    + "\"}"));
    String id = created.get("id").asText();
    assertThat(created.get("secret").asText()).isEqualTo(secret);
    JsonNode generated =
        contract.check(
            "POST",
            "/v1/subscriptions",
            api.postJson("/v1/subscriptions", "{\"url\":\"" + HOOKS + "\"}"));
    assertThat(generated.get("secret").asText()).startsWith("whsec_");
    JsonNode list = contract.check("GET", "/v1/subscriptions", api.get("/v1/subscriptions"));
    assertThat(list.get("items").findValuesAsText("id")).contains(id);
    assertThat(list.toString()).doesNotContain("whsec_");
    JsonNode one =
        contract.check("GET", "/v1/subscriptions/{id}", api.get("/v1/subscriptions/" + id));
    assertThat(one.has("secret")).isFalse();
    contract.check(
        "POST",
        "/v1/subscriptions/{id}/resume",
        api.postJson("/v1/subscriptions/" + id + "/resume", ""));
    for (String sub : List.of(id, generated.get("id").asText())) {
      contract.check(
          "DELETE",
          "/v1/subscriptions/{id}",
          send(api, "DELETE", "/v1/subscriptions/" + sub, null, null));
    }
    for (String method : List.of("GET", "DELETE")) {
      assertThat(
              status(
                  contract.check(
                      method,
                      "/v1/subscriptions/{id}",
                      send(api, method, "/v1/subscriptions/" + id, null, null))))
          .isEqualTo(404);
    }
    assertThat(
            status(
                contract.check(
                    "POST",
                    "/v1/subscriptions/{id}/resume",
                    api.postJson("/v1/subscriptions/" + id + "/resume", ""))))
        .isEqualTo(404);

    // None of them takes a query parameter: one is refused, not ignored.
    for (String[] operation :
        List.of(
            new String[] {"GET", "/v1/subscriptions"},
            new String[] {"GET", "/v1/subscriptions/{id}"},
            new String[] {"DELETE", "/v1/subscriptions/{id}"},
            new String[] {"POST", "/v1/subscriptions/{id}/resume"})) {
      JsonNode problem =
          contract.check(
              operation[0],
              operation[1],
              send(api, operation[0], sample(operation[1]) + "?x=1", null, null));
      assertThat(status(problem)).as(operation[1]).isEqualTo(400);
      assertThat(problem.get("field").asText()).isEqualTo("x");
    }

    JsonNode refused =
        contract.check(
            "POST",
            "/v1/subscriptions",
            api.postJson("/v1/subscriptions", "{\"url\":\"http://169.254.169.254/\"}"));
    assertThat(status(refused)).isEqualTo(422);
    assertThat(refused.get("detail").asText()).contains("sagaflow.webhooks.allowed-urls");
    for (String body :
        List.of(
            "{}",
            "{\"url\":\"" + HOOKS + "\",\"events\":[]}",
            "{\"url\":\"" + HOOKS + "\",\"events\":[\"Nope\"]}",
            "{\"url\":\"" + HOOKS + "\",\"secret\":\"short\"}",
            "{\"url\":\"" + HOOKS + "\",\"x\":1}")) {
      JsonNode problem =
          contract.check("POST", "/v1/subscriptions", api.postJson("/v1/subscriptions", body));
      assertThat(status(problem)).as(body).isEqualTo(400);
      assertThat(problem.get("detail").asText()).as(body).doesNotContain("short");
    }
  }

  /**
   * The answer to a GET of an event stream with its body cut at the first event: the stream does
   * not end, so the connection is dropped once an event has come.
   */
  private static HttpResponse<String> firstEvent(ApiFixture fixture, String path)
      throws IOException {
    try {
      HttpResponse<InputStream> response =
          STREAMS.send(
              fixture.request(path).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
      var head = new StringBuilder();
      try (var lines =
          new java.io.BufferedReader(
              new java.io.InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
        boolean data = false;
        for (String line; (line = lines.readLine()) != null; ) {
          if (line.isEmpty() && data) {
            break;
          }
          data |= line.matches("data: ?\\{.*");
          head.append(line).append('\n');
        }
      }
      return new CutResponse(response, head.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException(e);
    }
  }

  /** A response whose body is what was read of it. */
  private record CutResponse(HttpResponse<InputStream> response, String body)
      implements HttpResponse<String> {
    @Override
    public int statusCode() {
      return response.statusCode();
    }

    @Override
    public HttpRequest request() {
      return response.request();
    }

    @Override
    public Optional<HttpResponse<String>> previousResponse() {
      return Optional.empty();
    }

    @Override
    public java.net.http.HttpHeaders headers() {
      return response.headers();
    }

    @Override
    public Optional<javax.net.ssl.SSLSession> sslSession() {
      return response.sslSession();
    }

    @Override
    public java.net.URI uri() {
      return response.uri();
    }

    @Override
    public java.net.http.HttpClient.Version version() {
      return response.version();
    }
  }

  // ---- authentication --------------------------------------------------------------------------

  @Test
  @Order(8)
  void everyV1OperationNeedsTheTokenWhenTokensAreConfigured() {
    Map<String, Set<String>> operations = contract.methodsByPath();
    int checked = 0;
    for (var entry : operations.entrySet()) {
      String template = entry.getKey();
      if (!template.startsWith("/v1/")) {
        continue;
      }
      String path = sample(template);
      for (String method : entry.getValue()) {
        for (String[] auth :
            List.<String[]>of(
                new String[0],
                new String[] {"Authorization", "Bearer wrong"},
                new String[] {"Authorization", "Basic dDE6dDE="})) {
          var response =
              send(
                  secured,
                  method,
                  path,
                  method.equals("POST") ? "application/json" : null,
                  method.equals("POST") ? "{}" : null,
                  auth);
          JsonNode problem = contract.check(method, template, response);
          assertThat(status(problem)).as("%s %s %s", method, path, List.of(auth)).isEqualTo(401);
          checked++;
        }
      }
    }
    assertThat(checked).as("/v1 operations probed").isPositive();
    // With the token, the same node answers.
    var withToken = send(secured, "GET", "/v1/saga-types", null, null, AUTH);
    contract.check("GET", "/v1/saga-types", withToken);
    assertThat(withToken.statusCode()).isEqualTo(200);
    var lowerCaseScheme =
        send(
            secured, "GET", "/v1/saga-types/order", null, null, "Authorization", "bearer " + TOKEN);
    assertThat(lowerCaseScheme.statusCode()).isEqualTo(200);
  }

  // ---- routes ----------------------------------------------------------------------------------

  private static final List<String> PROBE_METHODS =
      List.of("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD");

  /** Paths a node might plausibly serve; none is documented, so each must be 404. */
  /** Not served. The web UI, {@code GET /} and {@code /ui/*}, is no API: WebUiIT tests it. */
  private static final List<String> UNDOCUMENTED_PATHS =
      List.of(
          "/index.html",
          "/metrics/sagas",
          "/v1/metrics/",
          "/health",
          "/alive",
          "/ready",
          "/openapi.json",
          "/openapi.yml",
          "/openapi.yamlx",
          "/v1/openapi.yaml",
          "/v1",
          "/v1/",
          "/v2/sagas",
          "/sagas",
          "/v1/saga",
          "/v1/sagasx",
          "/v1/sagas/",
          "/v1/sagas/probe-1/",
          "/v1/sagas/probe-1/steps",
          "/v1/sagas/probe-1/steps/reserve",
          "/v1/sagas/probe-1/compensate",
          "/v1/sagas/probe-1/resume",
          "/v1/sagas/probe-1/abort",
          "/v1/sagas/probe-1/events/1",
          "/v1/sagas/probe-1/eventsx",
          "/v1/sagas/probe-1/cancel/now",
          "/v1/saga-types/",
          "/v1/saga-types/order/versions",
          "/v1/saga-types/order/1",
          "/v1/types",
          "/v1/metrics",
          "/v1/health");

  @Test
  @Order(9)
  void everyServedRouteIsDocumented() {
    Map<String, Set<String>> documented = contract.methodsByPath();
    for (var entry : documented.entrySet()) {
      String template = entry.getKey();
      String path = sample(template);
      for (String method : PROBE_METHODS) {
        var response = probe(method, path);
        if (entry.getValue().contains(method)) {
          contract.check(method, template, response);
        } else {
          contract.checkMethodNotAllowed(method, template, response);
        }
      }
    }
    for (String path : UNDOCUMENTED_PATHS) {
      for (String method : PROBE_METHODS) {
        var response = probe(method, path);
        assertThat(response.statusCode())
            .as(
                "%s %s is served (%s) but not in openapi.yaml: document it, or stop serving it",
                method, path, response.statusCode())
            .isEqualTo(404);
        if (!method.equals("HEAD")) {
          contract.assertValid(
              "/components/schemas/NotFoundProblem",
              OpenApiContract.parseBody(response),
              method + " " + path);
        }
      }
    }
  }

  private static HttpResponse<String> probe(String method, String path) {
    if (method.equals("GET") && path.equals("/v1/events")) {
      // The stream does not end: a refused query shows the route is served, and ends.
      return send(api, method, path + "?after=-1", null, null);
    }
    boolean withBody = method.equals("POST") || method.equals("PUT") || method.equals("PATCH");
    return send(api, method, path, withBody ? "application/json" : null, withBody ? "{}" : null);
  }

  private static final Pattern PATH_DIRECTIVE =
      Pattern.compile(
          "\\b(?:path|pathPrefix|pathPrefixTest|pathSuffix|pathSuffixTest|rawPathPrefix|rawPathPrefixTest|segment|separateOnSlashes)\\(\\s*\"([^\"]*)\"");
  private static final Pattern SEGMENT_MATCHER =
      Pattern.compile(
          "\\b(?:segment|remaining|integerSegment|longSegment|uuidSegment|neutral|remainingPath)\\(\\s*\\)");
  private static final Pattern METHOD_DIRECTIVE =
      Pattern.compile("\\b(get|post|put|patch|delete|head|options)\\(\\s*(?:\\(\\)\\s*->|this::)");

  @Test
  @Order(10)
  void theRouteTableInSagaRoutesMatchesTheDocument() throws IOException {
    Path source =
        Path.of(System.getProperty("user.dir"))
            .resolve("../api/src/main/java/io/sagaflow/api/SagaRoutes.java")
            .normalize();
    String code = Files.readString(source);

    var literalSegments = new TreeSet<String>();
    Matcher literal = PATH_DIRECTIVE.matcher(code);
    while (literal.find()) {
      Arrays.stream(literal.group(1).split("/"))
          .filter(s -> !s.isEmpty())
          .forEach(literalSegments::add);
    }
    var documentedSegments = new TreeSet<String>();
    var parameterPositions = new TreeSet<String>();
    var documentedMethods = new TreeMap<String, Integer>();
    contract
        .methodsByPath()
        .forEach(
            (path, methods) -> {
              String[] segments = path.substring(1).split("/");
              for (int i = 0; i < segments.length; i++) {
                if (segments[i].startsWith("{")) {
                  parameterPositions.add(String.join("/", Arrays.copyOf(segments, i)));
                } else {
                  documentedSegments.add(segments[i]);
                }
              }
              methods.forEach(m -> documentedMethods.merge(m, 1, Integer::sum));
            });
    assertThat(literalSegments)
        .as("path segments matched in %s vs. openapi.yaml", source)
        .isEqualTo(documentedSegments);

    long segmentMatchers = SEGMENT_MATCHER.matcher(code).results().count();
    assertThat(segmentMatchers)
        .as("path parameters matched in SagaRoutes vs. openapi.yaml %s", parameterPositions)
        .isEqualTo(parameterPositions.size());

    var servedMethods = new TreeMap<String, Integer>();
    METHOD_DIRECTIVE
        .matcher(code)
        .results()
        .forEach(m -> servedMethods.merge(m.group(1).toUpperCase(Locale.ROOT), 1, Integer::sum));
    assertThat(servedMethods)
        .as("method directives in SagaRoutes vs. operations in openapi.yaml")
        .isEqualTo(documentedMethods);
  }

  // ---- database trouble (destructive: on the secured node, last) -----------------------------

  @Test
  @Order(11)
  void databaseTroubleAnswers503WithRetryAfterAndTheOutcomeIsKnownOnRetry() throws SQLException {
    // Sagas to command while the database is in trouble: one running, one failed, one done.
    // d-run's first step answers late: the saga stays RUNNING (attempts time out) for ~10 s.
    secured.stub.on("/d-run/reserve").delay(Duration.ofSeconds(8));
    secured.stub.on("/d-failed/ship").alwaysStatus(422);
    secured.stub.on("/d-failed/refund").alwaysStatus(503);
    for (String id : List.of("d-done", "d-failed", "d-run")) {
      var started =
          send(secured, "POST", "/v1/sagas", "application/json", start(id, orderInput(id)), AUTH);
      assertThat(started.statusCode()).as(started.body()).isEqualTo(201);
    }
    awaitStatus(secured, "d-done", "COMPLETED");
    awaitStatus(secured, "d-failed", "FAILED");
    secured.stub.awaitCalls("/d-run/reserve", 1, Duration.ofSeconds(10));

    // Journal writes stall (reads still work): the answer is 503 after the ask timeout, and the
    // outcome is unknown until the command is repeated with the same Idempotency-Key.
    var stalledCancel =
        whileJournalWritesStall(
            () ->
                send(
                    secured,
                    "POST",
                    "/v1/sagas/d-run/cancel",
                    "application/json",
                    "{}",
                    "Authorization",
                    AUTH[1],
                    "Idempotency-Key",
                    "d-cancel"));
    assertThat(status(contract.check("POST", "/v1/sagas/{id}/cancel", stalledCancel)))
        .isEqualTo(503);
    var cancelAgain =
        Eventually.await(
            "the repeated cancel is answered",
            WAIT,
            () -> {
              var r =
                  send(
                      secured,
                      "POST",
                      "/v1/sagas/d-run/cancel",
                      "application/json",
                      "{}",
                      "Authorization",
                      AUTH[1],
                      "Idempotency-Key",
                      "d-cancel");
              return r.statusCode() == 202 ? r : null;
            });
    contract.check("POST", "/v1/sagas/{id}/cancel", cancelAgain);

    // The same for a start; the documented remedy works: the same start again is answered, and
    // there is one saga.
    var stalledStart =
        whileJournalWritesStall(
            () ->
                send(
                    secured,
                    "POST",
                    "/v1/sagas",
                    "application/json",
                    start("d-new", orderInput("d-new")),
                    AUTH));
    JsonNode problem = contract.check("POST", "/v1/sagas", stalledStart);
    assertThat(status(problem)).isEqualTo(503);
    assertThat(problem.get("detail").asText()).contains("outcome is unknown");
    var again =
        Eventually.await(
            "the repeated start is answered",
            WAIT,
            () -> {
              var r =
                  send(
                      secured,
                      "POST",
                      "/v1/sagas",
                      "application/json",
                      start("d-new", orderInput("d-new")),
                      AUTH);
              return r.statusCode() == 200 || r.statusCode() == 201 ? r : null;
            });
    contract.check("POST", "/v1/sagas", again);
    assertThat(
            secured.db.count(
                "select count(*) from event_journal where persistence_id = 'saga|d-new' and event_ser_manifest like '%SagaStarted'"))
        .isEqualTo(1);

    var stalledRetry =
        whileJournalWritesStall(
            () ->
                send(
                    secured,
                    "POST",
                    "/v1/sagas/d-failed/retry",
                    null,
                    null,
                    "Authorization",
                    AUTH[1],
                    "Idempotency-Key",
                    "d-retry"));
    assertThat(status(contract.check("POST", "/v1/sagas/{id}/retry", stalledRetry))).isEqualTo(503);
    awaitStatus(secured, "d-run", "COMPENSATED");
    Eventually.until(
        "d-failed resumed and failed again",
        WAIT,
        () -> {
          JsonNode events =
              OpenApiContract.parseBody(
                      send(secured, "GET", "/v1/sagas/d-failed/events", null, null, AUTH))
                  .get("events");
          return events.findValuesAsText("type").contains("SagaResumed")
              && events.get(events.size() - 1).get("type").asText().equals("CompensationFailed");
        });

    // The index cannot be read: listing is 503.
    renamed(
        secured,
        "saga_index",
        () ->
            assertThat(
                    status(
                        contract.check(
                            "GET",
                            "/v1/sagas",
                            send(secured, "GET", "/v1/sagas", null, null, AUTH))))
                .isEqualTo(503));
    // The journal cannot be read: reading a saga, its events, and commanding it are 503.
    renamed(
        secured,
        "event_journal",
        () -> {
          assertThat(
                  status(
                      contract.check(
                          "GET",
                          "/v1/sagas/{id}",
                          send(secured, "GET", "/v1/sagas/d-done", null, null, AUTH))))
              .isEqualTo(503);
          assertThat(
                  status(
                      contract.check(
                          "GET",
                          "/v1/sagas/{id}/events",
                          send(secured, "GET", "/v1/sagas/d-done/events", null, null, AUTH))))
              .isEqualTo(503);
          assertThat(
                  status(
                      contract.check(
                          "POST",
                          "/v1/sagas/{id}/cancel",
                          send(secured, "POST", "/v1/sagas/d-done/cancel", null, null, AUTH))))
              .isEqualTo(503);
          assertThat(
                  status(
                      contract.check(
                          "POST",
                          "/v1/sagas/{id}/retry",
                          send(secured, "POST", "/v1/sagas/d-failed/retry", null, null, AUTH))))
              .isEqualTo(503);
          assertThat(
                  status(
                      contract.check(
                          "POST",
                          "/v1/sagas/{id}/signals/{name}",
                          send(
                              secured,
                              "POST",
                              "/v1/sagas/d-done/signals/approval",
                              "application/json",
                              "{}",
                              AUTH))))
              .isEqualTo(503);
        });
    assertThat(send(secured, "GET", "/v1/sagas/d-done", null, null, AUTH).statusCode())
        .isEqualTo(200);
  }

  /**
   * Runs {@code request} while a transaction holds an EXCLUSIVE lock on the journal: writes wait,
   * reads go on.
   */
  private static HttpResponse<String> whileJournalWritesStall(
      Supplier<HttpResponse<String>> request) throws SQLException {
    try (Connection c = secured.db.connect();
        Statement s = c.createStatement()) {
      c.setAutoCommit(false);
      s.execute("LOCK TABLE event_journal IN EXCLUSIVE MODE");
      try {
        return request.get();
      } finally {
        c.rollback();
      }
    }
  }

  /**
   * Runs {@code body} while {@code table} is renamed away (reads of it fail), then puts it back.
   */
  private static void renamed(ApiFixture fixture, String table, Runnable body) {
    fixture.db.execute("ALTER TABLE " + table + " RENAME TO " + table + "_unavailable");
    try {
      body.run();
    } finally {
      fixture.db.execute("ALTER TABLE " + table + "_unavailable RENAME TO " + table);
    }
  }

  // ---- helpers ---------------------------------------------------------------------------------

  /**
   * A POST whose body stops short of its Content-Length: the node waits body-read-timeout (2 s).
   */
  private static HttpResponse<String> bodyCutShort(String path) {
    String head =
        "POST "
            + path
            + " HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/json\nContent-Length: 100\n";
    return RawHttp.exchange(api.node.httpPort(), head, "{\"type\":", Duration.ofSeconds(20));
  }

  private static int status(JsonNode problem) {
    return problem.get("status").asInt();
  }

  /** A concrete path for a template: {id} and {type} become a saga id and a type that may exist. */
  private static String sample(String template) {
    return template
        .replace("{id}", "probe-1")
        .replace("{type}", "order")
        .replace("{name}", "approval");
  }

  private static void awaitStatus(ApiFixture fixture, String id, String status) {
    Eventually.until(
        id + " " + status,
        WAIT,
        () -> {
          var response = send(fixture, "GET", "/v1/sagas/" + id, null, null, AUTH);
          return response.statusCode() == 200
              && OpenApiContract.parseBody(response).get("status").asText().equals(status);
        });
  }

  /** Any request: {@code contentType} null sends no Content-Type, {@code body} null no body. */
  private static HttpResponse<String> send(
      ApiFixture fixture,
      String method,
      String path,
      String contentType,
      String body,
      String... headers) {
    HttpRequest.Builder request = fixture.request(path);
    if (contentType != null) {
      request.header("Content-Type", contentType);
    }
    if (headers.length > 0) {
      request.headers(headers);
    }
    request.method(
        method,
        body == null
            ? HttpRequest.BodyPublishers.noBody()
            : HttpRequest.BodyPublishers.ofString(body));
    return fixture.send(request);
  }
}
