package io.sagaflow.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepContext;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.orchestrator.testing.StubParticipant.Response;
import io.sagaflow.persistence.testing.TestDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /metrics} of a running node, read as an operator reads it: scraped over HTTP before
 * and after a known workload, every saga counter moves by exactly its amount, and the gauges read
 * from the saga index show what the index holds.
 */
class MetricsIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Its charge is the pivot: a rejected notify after it leaves the saga FAILED. */
  static final SagaDefinition<?> METERED =
      SagaDefinition.builder("metered")
          .deadline(Duration.ofMinutes(5))
          .defaultRetry(
              r ->
                  r.maxAttempts(3)
                      .minBackoff(Duration.ofMillis(50))
                      .maxBackoff(Duration.ofSeconds(2)))
          .defaultTimeout(Duration.ofSeconds(10))
          .step(
              Step.named("reserve")
                  .invoke(call("inventory", "reserve"))
                  .compensateWith(call("inventory", "release")))
          .step(Step.named("charge").invoke(call("payments", "charge")).pivot())
          .step(Step.named("notify").invoke(call("notifications", "notify")).retriable())
          .build();

  /** For the gauges: sagas left FAILED or RUNNING for as long as the test looks. */
  static final SagaDefinition<?> PARKED =
      SagaDefinition.builder("parked")
          .defaultTimeout(Duration.ofMinutes(20))
          .compensationRetry(r -> r.maxAttempts(1))
          .step(
              Step.named("reserve")
                  .invoke(call("inventory", "reserve"))
                  .compensateWith(call("inventory", "release")))
          .step(
              Step.named("charge")
                  .invoke(call("payments", "charge"))
                  .compensateWith(call("payments", "refund")))
          .build();

  /** Never started: its signal's counter is served, at zero, from the start. */
  static final SagaDefinition<?> APPROVED =
      SagaDefinition.builder("approved")
          .step(
              Step.named("approval")
                  .awaitSignal(io.sagaflow.orchestrator.dsl.AwaitSignal.named("approval")))
          .build();

  /** POST to /{scenario}/{action}. */
  private static HttpCall<Object> call(String participant, String action) {
    return HttpCall.post(
        participant,
        ctx -> "/" + ctx.inputJson().get("scenario").asText() + "/" + action,
        StepContext::inputJson);
  }

  private static TestDatabase db;
  private static StubParticipant stub;
  private static SagaflowNode node;
  private static final HttpClient http = HttpClient.newHttpClient();

  /** Every saga id this class starts: none may appear in a label. */
  private static final List<String> sagaIds = new ArrayList<>();

  @BeforeAll
  static void startNode() {
    db = TestDatabase.fresh();
    stub = StubParticipant.start();
    node =
        SagaflowNode.start(
            ConfigFactory.parseMap(Map.of("sagaflow.metrics.index-refresh-interval", "200ms"))
                .withFallback(TestNodes.config(stub.baseUrl())),
            TestNodes.env(db),
            List.of(METERED, PARKED, APPROVED));
  }

  @AfterAll
  static void stopNode() {
    node.close();
    stub.close();
  }

  @Test
  void aKnownWorkloadMovesEachCounterByExactlyItsAmount() {
    String completed = scenario();
    String compensated = scenario();
    String failed = scenario();
    // Completed: charge answers 503 twice (the first asking Retry-After: 1), then 200; notify's
    // participant says it had applied the key before.
    var charges = new AtomicInteger();
    stub.on("/" + completed + "/charge")
        .handle(
            call ->
                switch (charges.incrementAndGet()) {
                  case 1 -> Response.json(503, "{}").withHeader("Retry-After", "1");
                  case 2 -> Response.json(503, "{}");
                  default -> Response.json(200, "{\"charged\":true}");
                });
    stub.on("/" + completed + "/notify")
        .respond(Response.json(200, "{\"sent\":true}").withHeader("Idempotent-Replayed", "true"));
    // Compensated: the pivot is rejected, so reserve is undone.
    stub.on("/" + compensated + "/charge").alwaysStatus(400);
    // FAILED: notify, after the pivot, is rejected.
    stub.on("/" + failed + "/notify").alwaysStatus(400);
    PrometheusText before = scrape();

    assertThat(start("metered", completed).statusCode()).isEqualTo(201);
    assertThat(start("metered", compensated).statusCode()).isEqualTo(201);
    assertThat(start("metered", failed).statusCode()).isEqualTo(201);
    awaitStatus(completed, "COMPLETED");
    awaitStatus(compensated, "COMPENSATED");
    awaitStatus(failed, "FAILED");
    assertThat(start("metered", completed).statusCode()).as("a duplicate start").isEqualTo(200);
    PrometheusText after = scrape();

    var expected = new TreeMap<String, Double>();
    expected.put(series("sagaflow_sagas_started_total"), 3.0);
    for (String status : List.of("COMPLETED", "COMPENSATED", "FAILED")) {
      expected.put(series("sagaflow_sagas_finished_total", "status", status), 1.0);
      expected.put(series("sagaflow_saga_duration_seconds_count", "status", status), 1.0);
    }
    attempts(expected, "step", "reserve", "inventory", "success", 3);
    attempts(expected, "step", "charge", "payments", "retryable", 2);
    attempts(expected, "step", "charge", "payments", "success", 2);
    attempts(expected, "step", "charge", "payments", "rejected", 1);
    attempts(expected, "step", "notify", "notifications", "success", 1);
    attempts(expected, "step", "notify", "notifications", "rejected", 1);
    attempts(expected, "compensation", "reserve", "inventory", "success", 1);
    expected.put(series("sagaflow_duplicates_total", "kind", "start"), 1.0);
    expected.put(series("sagaflow_duplicates_total", "kind", "participant_replay"), 1.0);
    String[] chargeRetries = {"phase", "forward", "step", "charge"};
    expected.put(series("sagaflow_retries_scheduled_total", chargeRetries), 2.0);
    expected.put(series("sagaflow_retry_after_honoured_total", chargeRetries), 1.0);
    // Every other series of these counters (other outcomes, kinds, steps) and the journal's
    // errors stay where they were.
    assertThat(deltas(before, after)).isEqualTo(expected);

    // One saga's events are one journal row each: 6 (completed), 4 and 4; written in batches.
    assertThat(delta(before, after, "sagaflow_journal_batch_size_sum")).isEqualTo(14);
    assertThat(delta(before, after, "sagaflow_journal_write_seconds_count"))
        .isEqualTo(delta(before, after, "sagaflow_journal_batch_size_count"))
        .isBetween(1.0, 14.0);
    // A histogram's last bucket holds every observation.
    for (var sample : after.find("sagaflow_step_attempt_duration_seconds_count", Map.of())) {
      var inf = new HashMap<>(sample.labels());
      inf.put("le", "+Inf");
      assertThat(after.value("sagaflow_step_attempt_duration_seconds_bucket", inf))
          .isEqualTo(sample.value());
    }

    // The HTTP API by route template, never by path.
    assertThat(httpDelta(before, after, "POST", "/v1/sagas", "201")).isEqualTo(3);
    assertThat(httpDelta(before, after, "POST", "/v1/sagas", "200")).isEqualTo(1);
    assertThat(httpDelta(before, after, "GET", "/v1/sagas/{id}", "200")).isPositive();
    assertThat(after.find("http_server_requests_seconds_count", Map.of()))
        .extracting(s -> s.labels().get("route"))
        .allMatch(route -> route.startsWith("/") || route.equals("other"));

    // The breaker of a participant that failed twice and then answered is closed.
    var payments = Map.of("participant", "payments");
    assertThat(after.value("sagaflow_participant_breaker_state", with(payments, "closed")))
        .isEqualTo(1);
    assertThat(after.value("sagaflow_participant_breaker_state", with(payments, "open"))).isZero();
    assertThat(after.value("sagaflow_participant_breaker_state", with(payments, "half_open")))
        .isZero();

    assertNoLabelNamesASaga(after);
    // Every sagaflow_ metric is in the README's table, and every one there is served (each has
    // been made by now).
    assertThat(families(after)).isEqualTo(documented());
  }

  @Test
  void theJvmAndTheConnectionPoolsAreMeasured() {
    // A GC pause is timed when the JVM reports one.
    System.gc();
    PrometheusText scrape =
        Eventually.await(
            "a GC pause in the scrape",
            WAIT,
            () -> {
              PrometheusText s = scrape();
              return s.find("jvm_gc_pause_seconds_count", Map.of()).isEmpty() ? null : s;
            });

    assertThat(scrape.find("jvm_memory_used_bytes", Map.of("area", "heap"))).isNotEmpty();
    assertThat(scrape.value("jvm_threads_live_threads", Map.of())).isPositive();
    assertThat(scrape.find("process_cpu_usage", Map.of())).hasSize(1);
    assertThat(scrape.find("system_cpu_usage", Map.of())).hasSize(1);
    for (String pool :
        List.of(
            "sagaflow-journal",
            "sagaflow-index-reads",
            "sagaflow-index-projection",
            "sagaflow-node-lease")) {
      assertThat(scrape.find("hikaricp_connections_active", Map.of("pool", pool)))
          .as(pool)
          .hasSize(1);
      assertThat(scrape.find("hikaricp_connections_pending", Map.of("pool", pool)))
          .as(pool)
          .hasSize(1);
    }
  }

  @Test
  void theIndexGaugesShowWhatTheIndexHolds() {
    String failing = scenario();
    String slow = scenario();
    // Charge rejected and the undo of reserve rejected too: FAILED, waiting for an operator.
    stub.on("/" + failing + "/charge").alwaysStatus(400);
    stub.on("/" + failing + "/release").alwaysStatus(400);
    // Reserve answers long after the test: RUNNING all along.
    stub.on("/" + slow + "/reserve").delay(Duration.ofMinutes(10));

    assertThat(start("parked", failing).statusCode()).isEqualTo(201);
    assertThat(start("parked", slow).statusCode()).isEqualTo(201);
    awaitStatus(failing, "FAILED");
    stub.awaitCalls("/" + slow + "/reserve", 1, WAIT);

    var parked = Map.of("saga_type", "parked");
    // One scrape reads each gauge in turn, and a refresh may land between two of them: the age
    // is awaited with the counts, so that all of them come from a reading that saw both sagas.
    // Only the RUNNING saga counts for the age (a FAILED saga waits for a person).
    PrometheusText scrape =
        Eventually.await(
            "the index gauges showing both sagas and the running one's age, the index caught up",
            WAIT,
            () -> {
              PrometheusText s = scrape();
              boolean shown =
                  s.value("sagaflow_sagas_in_flight", with(parked, "status", "FAILED")) == 1
                      && s.value("sagaflow_sagas_in_flight", with(parked, "status", "RUNNING")) == 1
                      && s.value("sagaflow_oldest_unfinished_saga_age_seconds", parked) > 0
                      && s.value("sagaflow_index_lag_events", Map.of()) == 0
                      && s.value("sagaflow_sagas_in_memory", Map.of()) >= 2;
              return shown ? s : null;
            });

    assertThat(scrape.value("sagaflow_sagas_in_flight", with(parked, "status", "COMPENSATING")))
        .isZero();
    // None of type metered is unfinished but FAILED: no age.
    assertThat(
            scrape.value(
                "sagaflow_oldest_unfinished_saga_age_seconds", Map.of("saga_type", "metered")))
        .isZero();
    assertThat(scrape.value("sagaflow_saga_deadline_seconds", Map.of("saga_type", "metered")))
        .isEqualTo(300);
    assertThat(scrape.find("sagaflow_saga_deadline_seconds", parked)).isEmpty();
    // The sweep that ran when the node started.
    assertThat(
            Eventually.await(
                "a recovery sweep counted",
                WAIT,
                () -> scrape().value("sagaflow_recovery_sweeps_total", Map.of()) >= 1))
        .isTrue();
    assertNoLabelNamesASaga(scrape);
  }

  @Test
  void metricsAreServedInPrometheusTextFormat() {
    HttpResponse<String> response = get("/metrics");

    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type"))
        .hasValueSatisfying(
            type -> assertThat(type.replace(" ", "")).startsWith("text/plain;version=0.0.4"));
    assertThat(response.body()).contains("# TYPE sagaflow_sagas_started_total counter");
  }

  // ---- the workload's expectations --------------------------------------------------------------

  /** {@code phase} "step" or "compensation": its attempts counter and its histogram's count. */
  private static void attempts(
      Map<String, Double> expected,
      String phase,
      String step,
      String participant,
      String outcome,
      int n) {
    String[] labels = {"outcome", outcome, "participant", participant, "step", step};
    expected.put(series("sagaflow_" + phase + "_attempts_total", labels), (double) n);
    expected.put(
        series("sagaflow_" + phase + "_attempt_duration_seconds_count", labels), (double) n);
  }

  private static final Set<String> COUNTED =
      Set.of(
          "sagaflow_sagas_started_total",
          "sagaflow_sagas_finished_total",
          "sagaflow_step_attempts_total",
          "sagaflow_compensation_attempts_total",
          "sagaflow_duplicates_total",
          "sagaflow_retries_scheduled_total",
          "sagaflow_retry_after_honoured_total",
          "sagaflow_saga_duration_seconds_count",
          "sagaflow_step_attempt_duration_seconds_count",
          "sagaflow_compensation_attempt_duration_seconds_count");

  /** The series of type metered with {@code labels}, as {@link PrometheusText.Sample#series}. */
  private static String series(String name, String... labels) {
    var all = new TreeMap<String, String>();
    all.put("saga_type", "metered");
    for (int i = 0; i < labels.length; i += 2) {
      all.put(labels[i], labels[i + 1]);
    }
    return name + all;
  }

  /** Every series of the saga counters of type metered, and the journal's errors, that moved. */
  private static Map<String, Double> deltas(PrometheusText before, PrometheusText after) {
    var moved = new TreeMap<String, Double>();
    Map<String, Double> was = before.values(s -> COUNTED.contains(s.name()) || isJournalErrors(s));
    after
        .values(
            s ->
                (COUNTED.contains(s.name()) && "metered".equals(s.labels().get("saga_type")))
                    || isJournalErrors(s))
        .forEach(
            (series, value) -> {
              double delta = value - was.getOrDefault(series, 0.0);
              if (delta != 0) {
                moved.put(series, delta);
              }
            });
    return moved;
  }

  private static boolean isJournalErrors(PrometheusText.Sample s) {
    return s.name().equals("sagaflow_journal_write_errors_total");
  }

  private static double delta(PrometheusText before, PrometheusText after, String name) {
    return after.value(name, Map.of()) - before.value(name, Map.of());
  }

  private static double httpDelta(
      PrometheusText before, PrometheusText after, String method, String route, String status) {
    var labels = Map.of("method", method, "route", route, "status", status);
    var was = before.find("http_server_requests_seconds_count", labels);
    return after.value("http_server_requests_seconds_count", labels)
        - (was.isEmpty() ? 0 : was.get(0).value());
  }

  private static Map<String, String> with(Map<String, String> labels, String state) {
    return with(labels, "state", state);
  }

  private static Map<String, String> with(Map<String, String> labels, String label, String value) {
    var all = new HashMap<>(labels);
    all.put(label, value);
    return all;
  }

  private static void assertNoLabelNamesASaga(PrometheusText scrape) {
    List<String> values =
        scrape.samples().stream().flatMap(s -> s.labels().values().stream()).distinct().toList();
    assertThat(values).isNotEmpty();
    for (String id : List.copyOf(sagaIds)) {
      assertThat(values).noneMatch(v -> v.contains(id));
    }
  }

  /** The sagaflow_ metric families served, without Micrometer's _max gauge of each histogram. */
  private static Set<String> families(PrometheusText scrape) {
    return scrape.types().keySet().stream()
        .filter(name -> name.startsWith("sagaflow_") && !name.endsWith("_max"))
        .collect(Collectors.toCollection(TreeSet::new));
  }

  /** The sagaflow_ metrics the README's "Metrics" section lists. */
  private static Set<String> documented() {
    String readme;
    try {
      readme =
          Files.readString(
              Path.of(System.getProperty("user.dir")).resolve("../README.md").normalize());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int from = readme.indexOf("\n## Metrics\n");
    assertThat(from).as("README has a Metrics section").isPositive();
    String section = readme.substring(from, readme.indexOf("\n## ", from + 1));
    return Pattern.compile("`(sagaflow_[a-z_]+)`")
        .matcher(section)
        .results()
        .map(m -> m.group(1))
        .collect(Collectors.toCollection(TreeSet::new));
  }

  // ---- HTTP ------------------------------------------------------------------------------------

  private static String scenario() {
    String scenario = "m-" + UUID.randomUUID().toString().substring(0, 8);
    sagaIds.add(scenario);
    return scenario;
  }

  /** Starts saga {@code scenario} (the id, and the input's scenario) over the API. */
  private static HttpResponse<String> start(String type, String scenario) {
    String body =
        "{\"type\":\""
            + type
            + "\",\"id\":\""
            + scenario
            + "\",\"input\":{\"scenario\":\""
            + scenario
            + "\"}}";
    return send(
        request("/v1/sagas")
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(body)));
  }

  private static void awaitStatus(String id, String status) {
    Eventually.await(
        id + " " + status,
        WAIT,
        () -> {
          var response = get("/v1/sagas/" + id);
          try {
            return response.statusCode() == 200
                && JSON.readTree(response.body()).path("status").asText().equals(status);
          } catch (IOException e) {
            throw new IllegalStateException(e);
          }
        });
  }

  private static PrometheusText scrape() {
    HttpResponse<String> response = get("/metrics");
    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
    return PrometheusText.parse(response.body());
  }

  private static HttpResponse<String> get(String path) {
    return send(request(path).GET());
  }

  private static HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.httpPort() + path))
        .timeout(WAIT);
  }

  private static HttpResponse<String> send(HttpRequest.Builder request) {
    try {
      return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
