package io.sagaflow.node.oldjournal;

import static io.sagaflow.node.oldjournal.FixtureSagas.SAGAS;
import static io.sagaflow.node.oldjournal.FixtureSagas.saga;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sagaflow.node.SagaflowNode;
import io.sagaflow.node.oldjournal.FixtureSagas.ExpectedCall;
import io.sagaflow.node.oldjournal.FixtureSagas.FixtureSaga;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.testing.TestDatabase;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * Writes an old-journal fixture with the code it is compiled with: starts embedded PostgreSQL and a
 * node, drives the sagas of {@link FixtureSagas} into every status through a scripted stub
 * participant, stops the node, checks that the journal holds what {@link FixtureSagas} says, and
 * dumps every row of the schema's tables ({@link JournalRows}) plus a README into the folder given
 * as the only argument. Run it from the repository root (it records the git commit); the command is
 * in the README it writes.
 */
public final class MakeOldJournalFixture {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final ObjectMapper JSON = new ObjectMapper();
  // Long enough that the node stops first; StubParticipant.close interrupts it.
  private static final Duration HOLD = Duration.ofMinutes(10);

  static final String REGENERATE =
      "mvn -B -ntp -q -pl api -am test-compile"
          + " org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath"
          + " -Dmdep.outputFile=target/test.classpath -Dmdep.includeScope=test\n"
          + "java -cp api/target/test-classes:api/target/classes:$(cat api/target/test.classpath)"
          + " io.sagaflow.node.oldjournal.MakeOldJournalFixture"
          + " api/src/test/resources/old-journals/";

  private MakeOldJournalFixture() {}

  public static void main(String[] args) {
    if (args.length != 1) {
      System.err.println("usage: MakeOldJournalFixture <output folder>");
      System.exit(2);
    }
    try {
      make(Path.of(args[0]));
    } catch (Throwable e) {
      e.printStackTrace();
      // Pekko's and the stub's threads must not keep a failed run alive; the exit also runs the
      // embedded PostgreSQL's shutdown hook.
      System.exit(1);
    }
    System.exit(0);
  }

  private static void make(Path dir) throws Exception {
    TestDatabase db = TestDatabase.fresh();
    StubParticipant stub = StubParticipant.start();
    try {
      program(stub);
      SagaflowNode node =
          SagaflowNode.start(
              FixtureSagas.nodeConfig(stub.baseUrl()),
              FixtureSagas.nodeEnv(db.jdbcUrl(), db.user(), db.password()),
              FixtureSagas.DEFINITIONS);
      Map<String, List<String>> beforeStop;
      try {
        var api = new NodeApi(node.httpPort());
        drive(api, stub);
        awaitIndex(db);
        beforeStop = eventTypes(db);
      } finally {
        node.close();
      }
      Instant stopped = Instant.now();
      Map<String, List<String>> afterStop = eventTypes(db);
      if (!afterStop.equals(beforeStop)) {
        throw new IllegalStateException(
            "stopping the node wrote events: " + beforeStop + " -> " + afterStop);
      }
      check(afterStop, db, stopped);
      dump(db, dir, stopped);
    } finally {
      stub.close();
    }
  }

  /** The stub's answers: normal ones for every saga, then each saga's trouble. */
  private static void program(StubParticipant stub) {
    SAGAS.forEach(s -> FixtureSagas.answerNormally(stub, s.id()));
    stub.on(saga("compensated").path("charge")).alwaysStatus(422);
    stub.on(saga("step-backoff").path("charge")).alwaysStatus(503);
    stub.on(saga("step-in-flight").path("charge")).delay(HOLD);
    stub.on(saga("compensation-backoff").path("ship")).alwaysStatus(422);
    stub.on(saga("compensation-backoff").path("refund")).alwaysStatus(503);
    stub.on(saga("cancelled").path("charge")).alwaysStatus(503);
    stub.on(saga("cancelled").path("refund")).delay(HOLD);
    stub.on(saga("failed").path("ship")).alwaysStatus(422);
    stub.on(saga("failed").path("refund")).alwaysStatus(422);
    stub.on(saga("pivot-passed").path("ship")).alwaysStatus(503);
    stub.on(saga("pivot-in-progress").path("pay")).delay(HOLD);
    stub.on(saga("resumed").path("charge")).alwaysStatus(422);
    stub.on(saga("resumed").path("release")).alwaysStatus(422);
  }

  private static void drive(NodeApi api, StubParticipant stub) {
    for (FixtureSaga saga : SAGAS) {
      ObjectNode start =
          JSON.createObjectNode()
              .put("type", saga.definition().name())
              .put("id", saga.id())
              .set("input", saga.input());
      var answer = api.post("/v1/sagas", start.toString(), null);
      if (answer.status() != 201) {
        throw new IllegalStateException("start of " + saga.id() + " answered " + answer);
      }
    }
    awaitView(api, "completed", v -> status(v, "COMPLETED"));
    awaitView(api, "compensated", v -> status(v, "COMPENSATED"));
    awaitView(api, "step-backoff", v -> backingOff(v, "charge", "RETRYING"));
    stub.awaitCalls(saga("step-in-flight").path("charge"), 1, WAIT);
    awaitView(
        api,
        "compensation-backoff",
        v -> status(v, "COMPENSATING") && backingOff(v, "charge", "COMPENSATING"));
    awaitView(api, "failed", v -> status(v, "FAILED"));
    awaitView(api, "pivot-passed", v -> backingOff(v, "ship", "RETRYING"));
    stub.awaitCalls(saga("pivot-in-progress").path("pay"), 1, WAIT);
    awaitView(api, "pivot-completed", v -> status(v, "COMPLETED"));

    awaitView(api, "cancelled", v -> backingOff(v, "charge", "RETRYING"));
    var cancel =
        api.post(
            "/v1/sagas/cancelled/cancel",
            "{\"reason\":\"the customer changed their mind\"}",
            "cancel-cancelled");
    if (cancel.status() != 202) {
      throw new IllegalStateException("cancel answered " + cancel);
    }
    stub.awaitCalls(saga("cancelled").path("refund"), 1, WAIT);

    awaitView(api, "resumed", v -> status(v, "FAILED"));
    stub.on(saga("resumed").path("release")).alwaysStatus(503);
    var retry = api.post("/v1/sagas/resumed/retry", "", "retry-resumed");
    if (retry.status() != 202) {
      throw new IllegalStateException("retry answered " + retry);
    }
    awaitView(
        api, "resumed", v -> status(v, "COMPENSATING") && backingOff(v, "reserve", "COMPENSATING"));
  }

  private static void awaitView(NodeApi api, String id, Predicate<JsonNode> condition) {
    Eventually.await(
        id + " in its fixture state",
        WAIT,
        () -> {
          JsonNode view = api.saga(id);
          return view != null && condition.test(view) ? view : null;
        });
  }

  private static boolean status(JsonNode view, String status) {
    return view.get("status").asText().equals(status);
  }

  /** The step's failed attempt is written, with the time of the next one. */
  private static boolean backingOff(JsonNode view, String step, String stepStatus) {
    JsonNode s = NodeApi.step(view, step);
    return s.get("status").asText().equals(stepStatus) && s.hasNonNull("nextAttemptAt");
  }

  /**
   * Waits until the saga index lists every saga with its fixture status and its projection has
   * applied every tagged event, so that the fixture's index and offsets agree with its journal.
   */
  private static void awaitIndex(TestDatabase db) {
    Map<String, String> expected = new TreeMap<>();
    SAGAS.forEach(s -> expected.put(s.id(), s.statusInFixture().name()));
    Eventually.until(
        "the saga index at " + expected,
        WAIT,
        () -> query(db, "SELECT saga_id, status FROM saga_index").equals(expected));
    Eventually.until(
        "the index projection's offsets at the journal's head",
        WAIT,
        () ->
            db.count(
                    "SELECT count(*) FROM (SELECT tag, max(event_id) AS head FROM event_tag"
                        + " GROUP BY tag) t LEFT JOIN pekko_projection_offset_store o"
                        + " ON o.projection_name = 'saga-index' AND o.projection_key = t.tag"
                        + " WHERE o.current_offset IS NULL OR o.current_offset::bigint < t.head")
                == 0);
  }

  private static Map<String, String> query(TestDatabase db, String sql) {
    var rows = new TreeMap<String, String>();
    try (Connection c = db.connect();
        PreparedStatement ps = c.prepareStatement(sql);
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        rows.put(rs.getString(1), rs.getString(2));
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return rows;
  }

  /** Each saga's event types (simple class names), oldest first, straight from the journal. */
  private static Map<String, List<String>> eventTypes(TestDatabase db) throws SQLException {
    var types = new TreeMap<String, List<String>>();
    try (Connection c = db.connect();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT persistence_id, event_ser_manifest FROM event_journal"
                    + " ORDER BY persistence_id, sequence_number");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        String id = rs.getString(1).substring("saga|".length());
        types.computeIfAbsent(id, k -> new ArrayList<>()).add(simpleName(rs.getString(2)));
      }
    }
    return types;
  }

  static String simpleName(String manifest) {
    return manifest.substring(Math.max(manifest.lastIndexOf('$'), manifest.lastIndexOf('.')) + 1);
  }

  /** The journal holds what FixtureSagas says, and every backoff is still due. */
  private static void check(Map<String, List<String>> types, TestDatabase db, Instant stopped)
      throws SQLException {
    Map<String, List<String>> expected = new TreeMap<>();
    SAGAS.forEach(s -> expected.put(s.id(), s.eventsInFixture()));
    if (!types.equals(expected)) {
      throw new IllegalStateException(
          "the journal is not what FixtureSagas describes:\n  journal:  "
              + types
              + "\n  expected: "
              + expected);
    }
    for (Instant due : retryAts(db)) {
      if (!due.isAfter(stopped)) {
        throw new IllegalStateException(
            "a backoff was due at " + due + ", before the node stopped at " + stopped);
      }
    }
  }

  /** The retryAt of each saga's last event, where it has one. */
  private static List<Instant> retryAts(TestDatabase db) throws SQLException {
    var due = new ArrayList<Instant>();
    try (Connection c = db.connect();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT DISTINCT ON (persistence_id) convert_from(event_payload, 'UTF8')::jsonb"
                    + " ->> 'retryAt' FROM event_journal"
                    + " ORDER BY persistence_id, sequence_number DESC");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        if (rs.getString(1) != null) {
          due.add(Instant.parse(rs.getString(1)));
        }
      }
    }
    return due;
  }

  private static void dump(TestDatabase db, Path dir, Instant stopped) throws Exception {
    Files.createDirectories(dir);
    var counts = new LinkedHashMap<String, Integer>();
    String flywayVersion;
    String manifests;
    int serializerId;
    try (Connection c = db.connect()) {
      for (JournalRows.Table table : JournalRows.TABLES) {
        List<ObjectNode> rows = JournalRows.read(c, table);
        JournalRows.write(dir.resolve(table.file()), rows);
        counts.put(table.file(), rows.size());
      }
      List<ObjectNode> flyway = JournalRows.read(c, JournalRows.FLYWAY);
      JournalRows.write(dir.resolve(JournalRows.FLYWAY.file()), flyway);
      counts.put(JournalRows.FLYWAY.file(), flyway.size());
      flywayVersion = flyway.get(flyway.size() - 1).get("version").asText();
      manifests =
          query(db, "SELECT event_ser_manifest, count(*) FROM event_journal GROUP BY 1")
              .keySet()
              .stream()
              .map(m -> "`" + m + "`")
              .collect(Collectors.joining(", "));
      if (db.count("SELECT count(DISTINCT event_ser_id) FROM event_journal") != 1) {
        throw new IllegalStateException("events written by more than one serializer");
      }
      serializerId = (int) db.count("SELECT min(event_ser_id) FROM event_journal");
      requireOnlyKnownTables(c);
    }
    Instant latestRetryAt = retryAts(db).stream().max(Instant::compareTo).orElseThrow();
    var git = git();
    ObjectNode meta =
        JSON.createObjectNode()
            .put("fixture", dir.getFileName().toString())
            .put("madeAt", stopped.toString())
            .put("gitHead", git.get("head"))
            .put("mainCodeCommit", git.get("mainCode"))
            .put("mainCodeUncommittedChanges", git.get("dirty"))
            .put("flywayVersion", flywayVersion)
            .put("latestRetryAt", latestRetryAt.toString());
    Files.writeString(
        dir.resolve("meta.json"),
        JSON.writerWithDefaultPrettyPrinter().writeValueAsString(meta) + "\n",
        StandardCharsets.UTF_8);
    Files.writeString(
        dir.resolve("README.md"),
        readme(dir, meta, counts, manifests, serializerId),
        StandardCharsets.UTF_8);
    System.out.println("Wrote " + counts + " to " + dir.toAbsolutePath());
  }

  /** A table the dump does not know would be left behind: fail instead. */
  private static void requireOnlyKnownTables(Connection c) throws SQLException {
    var known = new TreeSet<String>();
    JournalRows.TABLES.forEach(t -> known.add(t.name()));
    known.add(JournalRows.FLYWAY.name());
    var found = new TreeSet<String>();
    try (PreparedStatement ps =
            c.prepareStatement(
                "SELECT table_name FROM information_schema.tables"
                    + " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'");
        ResultSet rs = ps.executeQuery()) {
      while (rs.next()) {
        found.add(rs.getString(1));
      }
    }
    if (!found.equals(known)) {
      throw new IllegalStateException(
          "the schema's tables " + found + " are not the ones dumped " + known);
    }
  }

  private static Map<String, String> git() {
    var info = new HashMap<String, String>();
    info.put("head", run("git", "rev-parse", "HEAD"));
    info.put(
        "mainCode",
        run(
            "git",
            "log",
            "-1",
            "--format=%H",
            "--",
            "orchestrator/src/main",
            "persistence/src/main",
            "api/src/main"));
    String status =
        run(
            "git",
            "status",
            "--porcelain",
            "--",
            "orchestrator/src/main",
            "persistence/src/main",
            "api/src/main");
    info.put("dirty", status.isEmpty() ? "none" : status.replace('\n', ' '));
    return info;
  }

  private static String run(String... command) {
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      return process.waitFor() == 0 ? out.trim() : "unknown (" + out.trim() + ")";
    } catch (IOException e) {
      return "unknown (" + e.getMessage() + ")";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "unknown (interrupted)";
    }
  }

  private static String readme(
      Path dir, ObjectNode meta, Map<String, Integer> counts, String manifests, int serializerId) {
    String name = dir.getFileName().toString();
    var md = new StringBuilder();
    md.append("# Old journal ").append(name).append("\n\n");
    md.append(
        "The database of a Sagaflow node as the code of commit "
            + name
            + " left it, for `OldJournalIT`: journals written by that code must keep loading,"
            + " and every saga in them must still reach its end. Written by"
            + " `MakeOldJournalFixture`; do not edit by hand.\n\n");
    md.append("- made: ").append(meta.get("madeAt").asText()).append('\n');
    md.append("- at commit: `")
        .append(meta.get("gitHead").asText())
        .append("`; main code")
        .append(" (orchestrator, persistence, api) last changed in `")
        .append(meta.get("mainCodeCommit").asText())
        .append("`, uncommitted main-code changes: ")
        .append(meta.get("mainCodeUncommittedChanges").asText())
        .append('\n');
    md.append("- schema: Flyway version ")
        .append(meta.get("flywayVersion").asText())
        .append(" (`flyway_schema_history.jsonl`): the test loads the rows into a database")
        .append(" migrated to exactly that version, then a node migrates it to the newest.\n");
    md.append("- events: pekko-serialization-jackson JSON (serializer id ")
        .append(serializerId)
        .append("), `event_ser_manifest` is the event's Java class name: ")
        .append(manifests)
        .append(".\n");
    md.append("- backoffs: the latest persisted `retryAt` is ")
        .append(meta.get("latestRetryAt").asText())
        .append(
            "; every one was in the future when the node stopped. A test run before then"
                + " waits for it, as a node would.\n\n");
    md.append("## Files\n\n");
    md.append(
        "One JSON object per row and line, columns in table order, read over JDBC"
            + " (`JournalRows`): `bytea` as `{\"utf8\": text}` (the events' JSON, byte for byte)"
            + " or `{\"base64\": ...}`, `timestamptz` as ISO-8601 instants. `event_tag` is what"
            + " the V4/V5 trigger filed from each row's `adapter_manifest` (`tag:<tag>`);"
            + " the test lets the trigger file it again and checks it against this file."
            + " `meta.json` repeats the facts above for the test.\n\n");
    md.append("| file | rows |\n|---|---|\n");
    counts.forEach(
        (file, n) -> md.append("| `").append(file).append("` | ").append(n).append(" |\n"));
    md.append("\n## Regenerate\n\n");
    md.append(
        "From the repository root, with the commit to capture checked out (a fixture of another"
            + " commit goes into a folder of its own, which `OldJournalIT` then lists):\n\n");
    md.append("```\n").append(REGENERATE).append(name).append("\n```\n\n");
    md.append(
        "It starts an embedded PostgreSQL in a temporary folder and a node on free ports, takes"
            + " about half a minute, and checks what it wrote against `FixtureSagas`. A new run"
            + " changes timestamps, writer ids and trace ids, not the shape.\n\n");
    md.append("## The sagas\n\n");
    md.append(
        "Definitions in `FixtureSagas`: `fixture-order` is reserve → charge → ship (reserve and"
            + " charge compensated by release and refund); `fixture-pivot` is reserve → pay"
            + " (the pivot) → ship (retriable). Every call is a POST to `/{sagaId}/{action}` on"
            + " the participants `inventory` and `payments`; retries and compensation retries"
            + " wait "
            + FixtureSagas.BACKOFF.toMinutes()
            + " minutes, no jitter. After loading, the participants are a fresh stub that answers"
            + " 200 to everything; sagas not listed with calls must call nothing. The node finds"
            + " the unfinished ones through its recovery sweep over `saga_index` (RUNNING and"
            + " COMPENSATING), and each calls its current step again with the same key; a due"
            + " time that has passed is due at once. These definitions must not change (names,"
            + " versions, steps, paths, policies): this fixture's sagas run on them.\n\n");
    md.append(
        "| saga | type | in the fixture | its events | what happened, what it must do | calls"
            + " after loading (Idempotency-Key, attempt) | new events | ends |\n");
    md.append("|---|---|---|---|---|---|---|---|\n");
    for (FixtureSaga s : SAGAS) {
      md.append("| `")
          .append(s.id())
          .append("` | ")
          .append(s.definition().name())
          .append(" | ")
          .append(s.statusInFixture())
          .append(" | ")
          .append(String.join(", ", s.eventsInFixture()))
          .append(" | ")
          .append(s.story())
          .append(" | ")
          .append(
              s.callsAfterLoad().isEmpty()
                  ? "none"
                  : s.callsAfterLoad().stream()
                      .map(MakeOldJournalFixture::describe)
                      .collect(Collectors.joining(", ")))
          .append(" | ")
          .append(s.eventsAfterLoad().isEmpty() ? "none" : String.join(", ", s.eventsAfterLoad()))
          .append(" | ")
          .append(s.finalStatus())
          .append(" |\n");
    }
    return md.toString();
  }

  private static String describe(ExpectedCall call) {
    return "`" + call.idempotencyKey() + "` #" + call.attempt();
  }
}
