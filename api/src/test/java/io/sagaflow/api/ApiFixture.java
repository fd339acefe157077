package io.sagaflow.api;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.node.SagaflowNode;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepContext;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.testing.TestDatabase;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * A running node with its HTTP API on a free port, a fresh database and a stub participant, plus a
 * small HTTP client: what the API tests drive.
 */
public final class ApiFixture implements AutoCloseable {
  public static final ObjectMapper JSON = new ObjectMapper();

  /** {@code order}: three HTTP steps on the stub, at /{orderId}/{action}. */
  public static final SagaDefinition<?> ORDER =
      SagaDefinition.builder("order")
          .defaultRetry(
              r ->
                  r.maxAttempts(2)
                      .minBackoff(Duration.ofMillis(50))
                      .maxBackoff(Duration.ofMillis(100)))
          .compensationRetry(
              r ->
                  r.maxAttempts(2)
                      .minBackoff(Duration.ofMillis(50))
                      .maxBackoff(Duration.ofMillis(100)))
          .defaultTimeout(Duration.ofSeconds(5))
          .step(Step.named("reserve").invoke(call("reserve")).compensateWith(call("release")))
          .step(Step.named("charge").invoke(call("charge")).compensateWith(call("refund")))
          .step(Step.named("ship").invoke(call("ship")).noCompensation())
          .build();

  /**
   * {@code strict}: one local step; its input must bind to {@link StrictInput}. Registered only by
   * {@link #start(Map, Map, List)}.
   */
  public static final SagaDefinition<?> STRICT =
      SagaDefinition.builder("strict", StrictInput.class)
          .step(
              Step.named("accept")
                  .invoke(
                      LocalCall.of(ctx -> CompletableFuture.completedFuture(Map.of("ok", true))))
                  .noCompensation())
          .build();

  /** The input {@link #STRICT} requires: a customer and a positive quantity, nothing else. */
  public record StrictInput(String customerId, int quantity) {
    public StrictInput {
      if (customerId == null || customerId.isBlank()) {
        throw new IllegalArgumentException("customerId is required");
      }
      if (quantity < 1) {
        throw new IllegalArgumentException("quantity must be at least 1");
      }
    }
  }

  private static HttpCall<Object> call(String action) {
    return HttpCall.post(
        "payments",
        ctx -> "/" + ctx.inputJson().get("orderId").asText() + "/" + action,
        StepContext::inputJson);
  }

  public final TestDatabase db;
  public final StubParticipant stub;
  public final SagaflowNode node;
  private final HttpClient http = HttpClient.newHttpClient();
  private final String base;

  private ApiFixture(
      Map<String, Object> extraConfig,
      Map<String, String> extraEnv,
      List<SagaDefinition<?>> extraDefinitions) {
    db = TestDatabase.fresh();
    stub = StubParticipant.start();
    var values = new HashMap<String, Object>();
    values.put("pekko.remote.artery.canonical.port", 0);
    values.put("sagaflow.http.port", 0);
    values.put("sagaflow.engine.ask-timeout", "20s");
    values.put("pekko.management.http.port", 0);
    values.put("sagaflow.http.host", "127.0.0.1");
    values.put("sagaflow.participants.payments.url", stub.baseUrl());
    values.putAll(extraConfig);
    Config config = ConfigFactory.parseMap(values);
    var env = new HashMap<String, String>();
    env.put(DatabaseSettings.URL_ENV, db.jdbcUrl());
    env.put(DatabaseSettings.USER_ENV, db.user());
    env.put(DatabaseSettings.PASSWORD_ENV, db.password());
    env.putAll(extraEnv);
    var definitions = new ArrayList<SagaDefinition<?>>();
    definitions.add(ORDER);
    definitions.addAll(extraDefinitions);
    node = SagaflowNode.start(config, env, definitions);
    base = "http://127.0.0.1:" + node.httpPort();
  }

  public static ApiFixture start() {
    return new ApiFixture(Map.of(), Map.of(), List.of());
  }

  public static ApiFixture start(Map<String, Object> config, Map<String, String> env) {
    return new ApiFixture(config, env, List.of());
  }

  /**
   * A node that also runs {@code extraDefinitions} (e.g. {@link #STRICT}) beside {@link #ORDER}.
   */
  public static ApiFixture start(
      Map<String, Object> config,
      Map<String, String> env,
      List<SagaDefinition<?>> extraDefinitions) {
    return new ApiFixture(config, env, extraDefinitions);
  }

  public String baseUrl() {
    return base;
  }

  /** An order input whose orderId keys the stub's paths. */
  public static String orderInput(String orderId) {
    return "{\"orderId\":\"" + orderId + "\",\"amount\":10}";
  }

  public HttpResponse<String> send(HttpRequest.Builder request) {
    HttpRequest built = request.build();
    try {
      try {
        return http.send(built, HttpResponse.BodyHandlers.ofString());
      } catch (IOException e) {
        // The JDK client picked a pooled connection the server had just closed (after an answer
        // with Connection: close to an earlier bad request): not one byte came back, so the
        // request was never answered. Once more on a new connection; anything else fails.
        if (e.getMessage() == null || !e.getMessage().contains("received no bytes")) {
          throw e;
        }
        return http.send(built, HttpResponse.BodyHandlers.ofString());
      }
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
  }

  public HttpResponse<String> get(String path) {
    return send(request(path).GET());
  }

  public HttpResponse<String> postJson(String path, String body, String... headers) {
    var request =
        request(path)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body));
    if (headers.length > 0) {
      request.headers(headers);
    }
    return send(request);
  }

  public static JsonNode json(HttpResponse<String> response) {
    try {
      return JSON.readTree(response.body());
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + response.body(), e);
    }
  }

  /** Waits until GET /v1/sagas/{id} reports the status. */
  public JsonNode awaitStatus(String id, String status) {
    return Eventually.await(
        id + " " + status,
        Duration.ofSeconds(30),
        () -> {
          var response = get("/v1/sagas/" + id);
          return response.statusCode() == 200
                  && json(response).get("status").asText().equals(status)
              ? json(response)
              : null;
        });
  }

  @Override
  public void close() {
    node.close();
    stub.close();
  }
}
