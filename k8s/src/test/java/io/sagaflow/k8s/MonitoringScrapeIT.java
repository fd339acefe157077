package io.sagaflow.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.sagaflow.node.SagaflowNode;
import io.sagaflow.orchestrator.SagaReplies;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepContext;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.testing.TestDatabase;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Every metric a panel of the Grafana dashboard or a Prometheus rule of the monitoring component
 * uses is one a running node exposes: scraped from {@code GET /metrics} of a real node (fresh
 * PostgreSQL, a stub participant) after sagas of every outcome, a retry the participant asked to
 * delay, a duplicate start and an answer replayed by the participant.
 */
class MonitoringScrapeIT {
  private static final Path COMPONENT = MonitoringComponentTest.COMPONENT;
  private static final Duration WAIT = Duration.ofSeconds(60);

  /** Its charge is the pivot: a rejected notify after it leaves the saga FAILED. */
  private static final SagaDefinition<?> ORDER =
      SagaDefinition.builder("order")
          .deadline(Duration.ofMinutes(5))
          .defaultRetry(
              r ->
                  r.maxAttempts(3)
                      .minBackoff(Duration.ofMillis(50))
                      .maxBackoff(Duration.ofSeconds(2)))
          .step(Step.named("reserve").invoke(call("reserve")).compensateWith(call("release")))
          .step(Step.named("charge").invoke(call("charge")).pivot())
          .step(Step.named("notify").invoke(call("notify")).retriable())
          .build();

  /** POST to /{scenario}/{action}. */
  private static HttpCall<Object> call(String action) {
    return HttpCall.post(
        "shop",
        ctx -> "/" + ctx.inputJson().get("scenario").asText() + "/" + action,
        StepContext::inputJson);
  }

  @Test
  void everyMetricThePanelsAndRulesUseIsInARealScrape() throws Exception {
    Set<String> used = MetricNames.metricNamesUsed(COMPONENT);
    assertThat(used).as("the component's PromQL").isNotEmpty();
    TestDatabase db = TestDatabase.fresh();
    try (StubParticipant stub = StubParticipant.start()) {
      stub.on("/completed/charge").failTimes(1, 503).retryAfter("1");
      stub.on("/completed/notify")
          .respond(
              StubParticipant.Response.json(200, "{}").withHeader("Idempotent-Replayed", "true"));
      stub.on("/compensated/charge").alwaysStatus(400);
      stub.on("/failed/notify").alwaysStatus(400);
      var config = new HashMap<String, Object>();
      config.put("pekko.remote.artery.canonical.port", 0);
      config.put("pekko.management.http.port", 0);
      config.put("sagaflow.http.port", 0);
      config.put("sagaflow.engine.ask-timeout", "20s");
      config.put("sagaflow.metrics.index-refresh-interval", "200ms");
      config.put("sagaflow.participants.shop.url", stub.baseUrl());
      Map<String, String> env =
          Map.of(
              DatabaseSettings.URL_ENV, db.jdbcUrl(),
              DatabaseSettings.USER_ENV, db.user(),
              DatabaseSettings.PASSWORD_ENV, db.password());
      try (SagaflowNode node =
          SagaflowNode.start(ConfigFactory.parseMap(config), env, List.of(ORDER))) {
        for (String scenario : List.of("completed", "compensated", "failed")) {
          start(node, scenario);
        }
        start(node, "completed"); // a duplicate
        awaitStatus(node, "completed", SagaStatus.COMPLETED);
        awaitStatus(node, "compensated", SagaStatus.COMPENSATED);
        awaitStatus(node, "failed", SagaStatus.FAILED);
        System.gc(); // a GC pause for jvm_gc_pause_seconds

        String scrape =
            Eventually.await(
                "a scrape with every metric the component uses",
                WAIT,
                () -> {
                  String text = scrape(node);
                  return MetricNames.notExposed(used, MetricNames.exposedIn(text)).isEmpty()
                      ? text
                      : null;
                });

        assertThat(MetricNames.notExposed(used, MetricNames.exposedIn(scrape))).isEmpty();
      }
    }
  }

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private static void start(SagaflowNode node, String scenario) throws Exception {
    String body =
        "{\"type\":\"order\",\"id\":\""
            + scenario
            + "\",\"input\":{\"scenario\":\""
            + scenario
            + "\"}}";
    HttpResponse<String> answer =
        HTTP.send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.httpPort() + "/v1/sagas"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(answer.statusCode()).as(answer.body()).isIn(200, 201);
  }

  private static String scrape(SagaflowNode node) {
    try {
      return HTTP.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.httpPort() + "/metrics"))
                  .build(),
              HttpResponse.BodyHandlers.ofString())
          .body();
    } catch (Exception e) {
      throw new IllegalStateException("scrape failed", e);
    }
  }

  private static void awaitStatus(SagaflowNode node, String sagaId, SagaStatus status) {
    Eventually.until(
        sagaId + " " + status,
        WAIT,
        () ->
            node.engine().get(sagaId).toCompletableFuture().join()
                    instanceof SagaReplies.Found found
                && found.saga().status() == status);
  }
}
