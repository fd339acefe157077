package io.sagaflow.node.oldjournal;

import static io.sagaflow.node.oldjournal.FixtureSagas.SAGAS;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sagaflow.node.SagaflowNode;
import io.sagaflow.node.oldjournal.FixtureSagas.ExpectedCall;
import io.sagaflow.node.oldjournal.FixtureSagas.FixtureSaga;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.EmbeddedDatabase;
import io.sagaflow.persistence.Migrations;
import io.sagaflow.persistence.testing.TestDatabase;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.flywaydb.core.Flyway;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A journal written by older code (a committed fixture of {@link MakeOldJournalFixture}, under
 * {@code src/test/resources/old-journals/<commit>}) is loaded into a database of its own schema
 * version, a node of today's code starts on it, and every saga in it carries on to its end: the
 * participants see exactly the calls its history leaves due (with the same idempotency keys), and
 * each saga's recorded history starts with its old events.
 */
class OldJournalIT {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final AtomicInteger databases = new AtomicInteger();

  /** The rows of one fixture, as {@link JournalRows} wrote them. */
  private record Fixture(
      String name, JsonNode meta, Map<String, List<ObjectNode>> tables, List<ObjectNode> flyway) {

    static Fixture load(String name) {
      var tables = new LinkedHashMap<String, List<ObjectNode>>();
      for (JournalRows.Table table : JournalRows.TABLES) {
        tables.put(table.name(), JournalRows.parse(resource(name, table.file())));
      }
      List<ObjectNode> flyway = JournalRows.parse(resource(name, JournalRows.FLYWAY.file()));
      try {
        return new Fixture(name, JSON.readTree(resource(name, "meta.json")), tables, flyway);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    private static String resource(String fixture, String file) {
      String path = "/old-journals/" + fixture + "/" + file;
      try (InputStream in = OldJournalIT.class.getResourceAsStream(path)) {
        if (in == null) {
          throw new IllegalStateException("no test resource " + path);
        }
        return new String(in.readAllBytes(), StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    List<ObjectNode> rows(String table) {
      return tables.get(table);
    }

    /** The saga's journal rows, oldest first. */
    List<ObjectNode> events(String sagaId) {
      return rows("event_journal").stream()
          .filter(r -> r.get("persistence_id").asText().equals("saga|" + sagaId))
          .sorted(
              (a, b) ->
                  Long.compare(
                      a.get("sequence_number").asLong(), b.get("sequence_number").asLong()))
          .toList();
    }

    JsonNode payload(ObjectNode row) {
      try {
        return JSON.readTree(JournalRows.bytes(row.get("event_payload")));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    String traceId(String sagaId) {
      return payload(events(sagaId).get(0)).get("traceId").asText();
    }
  }

  @ParameterizedTest(name = "old journal {0}")
  @ValueSource(strings = {"ea20f04"})
  void everySagaOfTheOldJournalCarriesOnToItsEnd(String name) throws Exception {
    Fixture fixture = Fixture.load(name);
    assertFixtureIsWhatFixtureSagasDescribes(fixture);
    String url = databaseAtFixtureVersion(fixture);
    load(fixture, url);

    StubParticipant stub = StubParticipant.start();
    SAGAS.forEach(s -> FixtureSagas.answerNormally(stub, s.id()));
    FixtureSaga pivotPassed = FixtureSagas.saga("pivot-passed");
    var shipHeld = new CountDownLatch(1);
    // Holds the pivot saga's ship while the test tries to cancel it (see below).
    stub.on(pivotPassed.path("ship"))
        .handle(
            call -> {
              try {
                shipHeld.await(30, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
              return StubParticipant.Response.json(200, "{\"shipmentId\":\"S-pivot-passed\"}");
            });
    EmbeddedDatabase server = TestDatabase.server();
    SagaflowNode node =
        SagaflowNode.start(
            FixtureSagas.nodeConfig(stub.baseUrl()),
            FixtureSagas.nodeEnv(url, server.user(), server.password()),
            FixtureSagas.DEFINITIONS);
    try {
      var api = new NodeApi(node.httpPort());
      // Every old event reads back through today's code before anything waits for the sagas.
      for (FixtureSaga saga : SAGAS) {
        assertHistoryStartsWithTheOldEvents(fixture, api, saga);
      }
      // A backoff of a fixture made moments ago is still running: the saga waits for it.
      Instant due = Instant.parse(fixture.meta().get("latestRetryAt").asText());
      Duration wait = WAIT.plus(max(Duration.ZERO, Duration.between(Instant.now(), due)));

      // Past its pivot, read from old events: a cancel is refused while ship is being retried.
      stub.awaitCalls(pivotPassed.path("ship"), 1, wait);
      var cancel = api.post("/v1/sagas/pivot-passed/cancel", "{\"reason\":\"too late\"}", null);
      assertThat(cancel.status()).isEqualTo(409);
      assertThat(cancel.body().get("detail").asText()).contains("pivot step 'pay'");
      shipHeld.countDown();

      for (FixtureSaga saga : SAGAS) {
        if (!saga.operatorRetries()) {
          awaitStatus(api, saga, saga.finalStatus().name(), wait);
        }
      }

      // FAILED waits for an operator: the node neither calls it nor changes it by itself.
      FixtureSaga failed = FixtureSagas.saga("failed");
      JsonNode failedView = api.saga(failed.id());
      assertThat(failedView.get("status").asText()).isEqualTo("FAILED");
      assertThat(failedView.get("failure").asText())
          .contains("compensation of step 'charge' was rejected");
      assertThat(callsBySaga(stub)).doesNotContainKey(failed.id());
      var retry = api.post("/v1/sagas/failed/retry", "", "operator-retry-1");
      assertThat(retry.status()).isEqualTo(202);
      awaitStatus(api, failed, failed.finalStatus().name(), WAIT);

      assertParticipantCalls(fixture, stub);
      for (FixtureSaga saga : SAGAS) {
        assertHistory(fixture, api, saga);
        assertView(api, saga);
      }
      assertIndexLists(api);
      assertThat(flyway(url, server).info().pending())
          .as("the node migrated the old schema to the newest")
          .isEmpty();
    } finally {
      shipHeld.countDown();
      node.close();
      stub.close();
    }
  }

  private static Duration max(Duration a, Duration b) {
    return a.compareTo(b) >= 0 ? a : b;
  }

  // ---- the fixture --------------------------------------------------------------------------

  private static void assertFixtureIsWhatFixtureSagasDescribes(Fixture fixture) {
    Map<String, List<String>> types = new TreeMap<>();
    for (ObjectNode row : fixture.rows("event_journal")) {
      types
          .computeIfAbsent(
              row.get("persistence_id").asText().substring("saga|".length()),
              k -> new ArrayList<>())
          .add(MakeOldJournalFixture.simpleName(row.get("event_ser_manifest").asText()));
    }
    Map<String, List<String>> expected = new TreeMap<>();
    SAGAS.forEach(s -> expected.put(s.id(), s.eventsInFixture()));
    assertThat(types).isEqualTo(expected);
    Map<String, String> index = new TreeMap<>();
    fixture
        .rows("saga_index")
        .forEach(r -> index.put(r.get("saga_id").asText(), r.get("status").asText()));
    Map<String, String> expectedIndex = new TreeMap<>();
    SAGAS.forEach(s -> expectedIndex.put(s.id(), s.statusInFixture().name()));
    assertThat(index).isEqualTo(expectedIndex);
  }

  /** A new database on the shared test server, migrated to the fixture's schema version only. */
  private static String databaseAtFixtureVersion(Fixture fixture) throws SQLException {
    EmbeddedDatabase server = TestDatabase.server();
    String database = "old_journal_" + fixture.name() + "_" + databases.incrementAndGet();
    try (Connection c =
            DriverManager.getConnection(server.jdbcUrl(), server.user(), server.password());
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + database);
    }
    String url = server.jdbcUrl(database);
    String version = fixture.meta().get("flywayVersion").asText();
    Flyway.configure()
        .dataSource(url, server.user(), server.password())
        .locations(Migrations.LOCATION)
        .failOnMissingLocations(true)
        .target(version)
        .load()
        .migrate();
    try (Connection c = DriverManager.getConnection(url, server.user(), server.password())) {
      // The migrations up to the fixture's version are the ones that made its schema (an edited
      // old migration would also fail Flyway's validation on every deployed database).
      assertThat(migrations(JournalRows.read(c, JournalRows.FLYWAY)))
          .isEqualTo(migrations(fixture.flyway()));
    }
    return url;
  }

  private static List<String> migrations(List<ObjectNode> history) {
    return history.stream()
        .map(
            r ->
                String.join(
                    " ",
                    r.get("version").asText(),
                    r.get("script").asText(),
                    r.get("checksum").asText(),
                    r.get("success").asText()))
        .toList();
  }

  /**
   * Loads every row with its old {@code ordering}, and moves the journal's sequence past them. The
   * journal's tag trigger (V4/V5) files {@code event_tag} again from each row's adapter manifest,
   * as it did for the old node; the result must be the fixture's {@code event_tag}.
   */
  private static void load(Fixture fixture, String url) throws SQLException {
    EmbeddedDatabase server = TestDatabase.server();
    try (Connection c = DriverManager.getConnection(url, server.user(), server.password())) {
      c.setAutoCommit(false);
      for (JournalRows.Table table : JournalRows.TABLES) {
        if (!table.name().equals("event_tag")) {
          JournalRows.insert(c, table.name(), fixture.rows(table.name()));
        }
      }
      try (Statement s = c.createStatement()) {
        s.execute(
            "SELECT setval(pg_get_serial_sequence('event_journal', 'ordering'),"
                + " (SELECT max(ordering) FROM event_journal))");
        s.execute(
            "SELECT setval(pg_get_serial_sequence('durable_state', 'global_offset'),"
                + " (SELECT max(global_offset) FROM durable_state))");
      }
      c.commit();
      assertThat(lines(JournalRows.read(c, table("event_tag"))))
          .as("event_tag filed by the trigger from the loaded journal")
          .isNotEmpty()
          .isEqualTo(lines(fixture.rows("event_tag")));
      assertThat(lines(JournalRows.read(c, table("event_journal"))))
          .isEqualTo(lines(fixture.rows("event_journal")));
    }
  }

  private static JournalRows.Table table(String name) {
    return JournalRows.TABLES.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
  }

  /** Rows as the lines of their file (JSON numbers compare by value, not by Java type). */
  private static List<String> lines(List<ObjectNode> rows) {
    return rows.stream().map(ObjectNode::toString).toList();
  }

  private static Flyway flyway(String url, EmbeddedDatabase server) {
    return Flyway.configure()
        .dataSource(url, server.user(), server.password())
        .locations(Migrations.LOCATION)
        .load();
  }

  // ---- after loading ------------------------------------------------------------------------

  private static JsonNode awaitStatus(NodeApi api, FixtureSaga saga, String status, Duration wait) {
    return Eventually.await(
        saga.id() + " " + status,
        wait,
        () -> {
          JsonNode view = api.saga(saga.id());
          return view != null && view.get("status").asText().equals(status) ? view : null;
        });
  }

  private static Map<String, List<StubParticipant.Call>> callsBySaga(StubParticipant stub) {
    var bySaga = new TreeMap<String, List<StubParticipant.Call>>();
    for (StubParticipant.Call call : stub.calls()) {
      String sagaId =
          call.header("Saga-Id").orElseThrow(() -> new AssertionError("no Saga-Id: " + call));
      bySaga.computeIfAbsent(sagaId, k -> new ArrayList<>()).add(call);
    }
    return bySaga;
  }

  /**
   * The participants saw exactly what the old histories left due, in order, with the keys and
   * attempt numbers those histories imply, under the sagas' old trace ids; nothing for the rest.
   */
  private static void assertParticipantCalls(Fixture fixture, StubParticipant stub) {
    Map<String, List<ExpectedCall>> seen = new TreeMap<>();
    callsBySaga(stub)
        .forEach(
            (sagaId, calls) ->
                seen.put(
                    sagaId,
                    calls.stream()
                        .map(
                            c ->
                                new ExpectedCall(
                                    c.path(),
                                    c.idempotencyKey().orElse(null),
                                    c.header("Saga-Step").orElse(null),
                                    c.sagaAttempt().orElse(-1)))
                        .toList()));
    Map<String, List<ExpectedCall>> expected = new TreeMap<>();
    SAGAS.stream()
        .filter(s -> !s.callsAfterLoad().isEmpty())
        .forEach(s -> expected.put(s.id(), s.callsAfterLoad()));
    assertThat(seen).isEqualTo(expected);
    for (var calls : callsBySaga(stub).entrySet()) {
      String traceId = fixture.traceId(calls.getKey());
      assertThat(calls.getValue())
          .allSatisfy(
              c -> assertThat(c.header("traceparent").orElseThrow()).contains("-" + traceId + "-"));
    }
    assertThat(stub.maxTimesApplied()).isEqualTo(1);
    // charge and pay build their body from reserve's output, which only an old event holds.
    var fromReserve =
        stub.calls().stream()
            .filter(c -> c.path().endsWith("/charge") || c.path().endsWith("/pay"))
            .toList();
    assertThat(fromReserve)
        .hasSize(
            (int)
                SAGAS.stream()
                    .flatMap(s -> s.callsAfterLoad().stream())
                    .filter(c -> c.path().endsWith("/charge") || c.path().endsWith("/pay"))
                    .count());
    assertThat(fromReserve)
        .allSatisfy(
            c ->
                assertThat(c.bodyJson().get("reservationId").asText())
                    .isEqualTo("R-" + c.header("Saga-Id").orElseThrow()));
  }

  /** Read back through the API: the old events first, as written, then what the node added. */
  private static List<JsonNode> assertHistoryStartsWithTheOldEvents(
      Fixture fixture, NodeApi api, FixtureSaga saga) {
    List<JsonNode> events = api.events(saga.id());
    List<ObjectNode> old = fixture.events(saga.id());
    assertThat(events).as("history of %s", saga.id()).hasSizeGreaterThanOrEqualTo(old.size());
    for (int i = 0; i < old.size(); i++) {
      ObjectNode row = old.get(i);
      JsonNode event = events.get(i);
      assertThat(event.get("sequenceNr").asLong()).isEqualTo(row.get("sequence_number").asLong());
      assertThat(event.get("type").asText())
          .isEqualTo(MakeOldJournalFixture.simpleName(row.get("event_ser_manifest").asText()));
      assertThat(event.get("writtenAt").asText())
          .isEqualTo(Instant.ofEpochMilli(row.get("write_timestamp").asLong()).toString());
      assertThat(event.get("data")).isEqualTo(fixture.payload(row));
    }
    return events;
  }

  /** Once the saga has ended: its old events, then exactly the ones its definition adds. */
  private static void assertHistory(Fixture fixture, NodeApi api, FixtureSaga saga) {
    List<JsonNode> events = assertHistoryStartsWithTheOldEvents(fixture, api, saga);
    int old = fixture.events(saga.id()).size();
    assertThat(events.subList(old, events.size()))
        .extracting(e -> e.get("type").asText())
        .as("events %s added after loading", saga.id())
        .containsExactlyElementsOf(saga.eventsAfterLoad());
  }

  /** The saga as the old and new events fold together. */
  private static void assertView(NodeApi api, FixtureSaga saga) {
    JsonNode view = api.saga(saga.id());
    assertThat(view.get("status").asText()).isEqualTo(saga.finalStatus().name());
    assertThat(view.get("type").asText()).isEqualTo(saga.definition().name());
    assertThat(view.get("input")).isEqualTo(saga.input());
    Map<String, String> steps = new LinkedHashMap<>();
    view.get("steps").forEach(s -> steps.put(s.get("name").asText(), s.get("status").asText()));
    Map<String, String> expected = new LinkedHashMap<>();
    saga.finalSteps().forEach((step, status) -> expected.put(step, status.name()));
    assertThat(steps).as("steps of %s", saga.id()).isEqualTo(expected);
    // reserve succeeded before the fixture was made in every saga: its output is an old one.
    assertThat(NodeApi.step(view, "reserve").get("output").get("reservationId").asText())
        .isEqualTo("R-" + saga.id());
  }

  /** The index projection carried on from its old offsets to every saga's final status. */
  private static void assertIndexLists(NodeApi api) {
    Map<String, String> expected = new TreeMap<>();
    SAGAS.forEach(s -> expected.put(s.id(), s.finalStatus().name()));
    Eventually.until(
        "the saga index lists " + expected,
        WAIT,
        () -> {
          var answer = api.get("/v1/sagas?limit=100");
          if (answer.status() != 200) {
            return false;
          }
          var listed = new HashMap<String, String>();
          answer
              .body()
              .get("items")
              .forEach(i -> listed.put(i.get("id").asText(), i.get("status").asText()));
          return listed.equals(expected);
        });
  }
}
