package io.sagaflow.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.JournalHealth;
import io.sagaflow.persistence.testing.RestartableDatabase;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node through a crash of its PostgreSQL (immediate shutdown, then a restart on the same port and
 * data): while the database is down {@code /ready} answers 503 and starts answer 503 with {@code
 * Retry-After}; once it is back, the node says ready only when a start succeeds again, and it does
 * say so. A real restart rather than a {@code BlackHoleProxy}: the case is a database that
 * went away and came back, dropping every connection and refusing new ones meanwhile.
 */
class DatabaseOutageIT {
  private static final Logger log = LoggerFactory.getLogger(DatabaseOutageIT.class);
  private static final Duration DEADLINE = Duration.ofSeconds(60);

  /** Starts a load balancer keeps sending while the database is down. */
  private static final int STARTS_DURING_OUTAGE = 12;

  private static final SagaDefinition<?> QUICK =
      SagaDefinition.builder("quick")
          .step(
              Step.named("noop")
                  .invoke(LocalCall.of(ctx -> CompletableFuture.completedFuture(Map.of())))
                  .noCompensation())
          .build();

  private final HttpClient http = HttpClient.newHttpClient();
  private final AtomicInteger ids = new AtomicInteger();

  @Test
  void readinessFollowsTheJournalThroughADatabaseCrash() throws Exception {
    int management = freePort();
    try (var db = RestartableDatabase.start();
        var node = startNode(db.settings(), management)) {
      var api = URI.create("http://127.0.0.1:" + node.httpPort());
      var ready = URI.create("http://127.0.0.1:" + management + "/ready");
      Eventually.until("ready before the outage", DEADLINE, () -> status(ready) == 200);
      assertThat(start(api).statusCode()).isEqualTo(201);

      db.crash();
      long down = System.nanoTime();
      Eventually.until("not ready once the database is down", DEADLINE, () -> status(ready) != 200);
      log.info("not ready {} ms after the crash", millisSince(down));
      assertThat(status(ready)).as("/ready while the database is down").isEqualTo(503);

      var starts = new ArrayList<CompletableFuture<HttpResponse<String>>>();
      for (int i = 0; i < STARTS_DURING_OUTAGE; i++) {
        starts.add(startAsync(api));
      }
      for (var answer : starts) {
        HttpResponse<String> response = answer.join();
        assertThat(response.statusCode()).as("a start while the database is down").isEqualTo(503);
        assertThat(response.headers().firstValue("Retry-After"))
            .hasValueSatisfying(seconds -> assertThat(Integer.parseInt(seconds)).isPositive());
        log.info(
            "start during the outage: Retry-After {}",
            response.headers().firstValue("Retry-After"));
      }
      // The case: the journal's circuit breaker is open when the database comes back.
      var journal = JournalHealth.get(Adapter.toClassic(node.system()));
      Eventually.until(
          "the journal's circuit breaker opens",
          DEADLINE,
          () -> journal.problem().contains("CircuitBreakerOpenException"));
      assertThat(status(ready)).as("/ready while the database is down").isEqualTo(503);
      log.info("database down for {} ms", millisSince(down));

      db.restart();
      long back = System.nanoTime();
      var firstStart = CompletableFuture.runAsync(() -> firstSuccessfulStart(api, back));
      Eventually.until("ready after the database is back", DEADLINE, () -> status(ready) == 200);
      log.info("ready {} ms after the database is back", millisSince(back));
      for (int i = 0; i < 3; i++) {
        assertThat(start(api).statusCode()).as("a start once the node says ready").isEqualTo(201);
      }
      firstStart.join();
    }
  }

  /** Measures when a start first succeeds after the database is back (for the record). */
  private void firstSuccessfulStart(URI api, long back) {
    Eventually.until(
        "a start succeeds after the database is back",
        DEADLINE,
        () -> {
          int status = start(api).statusCode();
          log.info("start {} ms after the database is back: {}", millisSince(back), status);
          return status == 201;
        });
  }

  private static SagaflowNode startNode(DatabaseSettings db, int managementPort) {
    var config =
        ConfigFactory.parseMap(
                Map.of(
                    "pekko.management.http.port",
                    managementPort,
                    // Production's ask timeout: a start the journal cannot take answers 503 after
                    // it.
                    "sagaflow.engine.ask-timeout",
                    "5s"))
            .withFallback(TestNodes.config("http://127.0.0.1:1"));
    return SagaflowNode.start(
        config,
        Map.of(
            DatabaseSettings.URL_ENV, db.url(),
            DatabaseSettings.USER_ENV, db.user(),
            DatabaseSettings.PASSWORD_ENV, db.password()),
        List.of(QUICK));
  }

  private HttpResponse<String> start(URI api) {
    return startAsync(api).join();
  }

  private CompletableFuture<HttpResponse<String>> startAsync(URI api) {
    String id = "outage-" + ids.incrementAndGet();
    var request =
        HttpRequest.newBuilder(api.resolve("/v1/sagas"))
            .timeout(Duration.ofSeconds(30))
            .header("Content-Type", "application/json")
            .POST(
                HttpRequest.BodyPublishers.ofString(
                    "{\"type\":\"quick\",\"id\":\"" + id + "\",\"input\":{}}"))
            .build();
    return http.sendAsync(request, HttpResponse.BodyHandlers.ofString());
  }

  private int status(URI uri) {
    try {
      return http.send(
              HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(10)).GET().build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (IOException e) {
      return -1;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static long millisSince(long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000;
  }

  private static int freePort() throws IOException {
    try (var socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
