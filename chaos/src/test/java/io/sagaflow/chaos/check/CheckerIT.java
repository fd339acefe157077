package io.sagaflow.chaos.check;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.chaos.ChaosParticipant;
import io.sagaflow.chaos.format.ApiCall;
import io.sagaflow.chaos.format.Jsonl;
import io.sagaflow.chaos.participant.FaultMix;
import io.sagaflow.chaos.participant.ParticipantOptions;
import io.sagaflow.orchestrator.history.SagaHistory;
import io.sagaflow.persistence.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checker on a real run: a node drives three chaos sagas against a real participant whose
 * seeded mix rejects chosen steps (one saga completes, one compensates, one fails after its pivot).
 * The clean run passes every check; each other test breaks a copy of it one way, and the check that
 * guards against that must fire.
 */
class CheckerIT {
  static final long SEED = 11;
  static final FaultMix MIX = FaultMix.parse("none,reject=0.5");
  static final String COMPLETED = NodeRun.idWhere("completes", MIX, SEED, Set.of());
  static final String COMPENSATED = NodeRun.idWhere("compensates", MIX, SEED, Set.of("charge"));
  static final String FAILED = NodeRun.idWhere("fails", MIX, SEED, Set.of("notify"));

  @TempDir static Path runDir;
  static TestDatabase db;

  @TempDir Path dir;

  @BeforeAll
  static void run() {
    db = TestDatabase.fresh();
    var options = ParticipantOptions.of(SEED, runDir.resolve("ledger.jsonl")).withMix(MIX);
    try (var participant = ChaosParticipant.start(options);
        var node = NodeRun.start(db, participant.port(), runDir)) {
      for (String id : new String[] {COMPLETED, COMPENSATED, FAILED}) {
        assertThat(node.startSaga(id)).isEqualTo(201);
      }
      assertThat(node.awaitSettled(COMPLETED)).isEqualTo("COMPLETED");
      assertThat(node.awaitSettled(COMPENSATED)).isEqualTo("COMPENSATED");
      assertThat(node.awaitSettled(FAILED)).isEqualTo("FAILED");
      node.probeReady();
    }
  }

  private Path files() {
    return RunCopies.files(runDir, dir.resolve("run"));
  }

  @Test
  void aCleanRunPassesEveryCheck() throws Exception {
    Path files = files();
    CheckReport report = RunCopies.check(files, RunCopies.database(db));
    assertThat(report.ok()).as(report.render()).isTrue();
    assertThat(report.check("C1").examined()).isEqualTo(3);
    assertThat(report.check("C2").examined()).isEqualTo(3);
    assertThat(report.check("C3").examined()).isGreaterThanOrEqualTo(9);
    assertThat(report.check("C4").examined()).isEqualTo(2);
    assertThat(report.check("C5").examined()).isEqualTo(3);
    assertThat(report.check("C6").examined()).isEqualTo(3);
    assertThat(report.check("C7").examined()).isEqualTo(1);
    assertThat(Files.readString(files.resolve(CheckInputs.REPORT))).contains("\"ok\" : true");
  }

  @Test
  void c6FiresOnACompensationBeforeAnyFailureAndOnAnUnknownStep() {
    TestDatabase copy = RunCopies.database(db);
    copy.execute(
        "UPDATE event_journal SET event_ser_manifest ="
            + " 'io.sagaflow.orchestrator.history.SagaEvent$StepCompensated'"
            + where(COMPLETED, 2));
    copy.execute(
        "UPDATE event_journal SET event_payload = convert_to(replace(convert_from(event_payload,"
            + " 'UTF8'), '\"step\":\"charge\"', '\"step\":\"bogus\"'), 'UTF8')"
            + where(COMPENSATED, 3));
    CheckResult c6 = RunCopies.check(files(), copy).check("C6");
    assertThat(c6.violations())
        .extracting(Violation::sagaId)
        .containsExactlyInAnyOrder(COMPLETED, COMPENSATED);
    assertThat(c6.violations()).anyMatch(v -> v.message().contains("StepCompensated"));
    assertThat(c6.violations()).anyMatch(v -> v.message().contains("'bogus'"));
  }

  @Test
  void c5FiresOnInterleavedWritersAndADuplicateKeyInANodeLog() throws Exception {
    TestDatabase copy = RunCopies.database(db);
    copy.execute("UPDATE event_journal SET writer = 'intruder'" + where(COMPLETED, 2));
    Path files = files();
    Files.writeString(
        files.resolve("node2.log"), "ERROR journal write failed: " + duplicateKey(copy) + "\n");
    CheckResult c5 = RunCopies.check(files, copy).check("C5");
    assertThat(c5.violations())
        .extracting(Violation::sagaId)
        .containsExactlyInAnyOrder(COMPLETED, COMPENSATED);
    assertThat(c5.violations()).anyMatch(v -> v.message().contains("interleaved"));
    assertThat(c5.violations()).anyMatch(v -> v.message().contains("node2.log:1"));
  }

  @Test
  void c1FiresOnASagaLeftRunningAndOnAFailureTheMixDidNotCause() throws Exception {
    TestDatabase copy = RunCopies.database(db);
    copy.execute("DELETE FROM event_journal" + where(COMPLETED, 5));
    Path files = files();
    int dropped =
        RunCopies.dropLines(
            files.resolve(CheckInputs.LEDGER),
            line -> line.contains("\"key\":\"" + FAILED + "/notify\""));
    assertThat(dropped).isPositive();
    CheckResult c1 = RunCopies.check(files, copy).check("C1");
    // The completed saga's final GET saw it COMPLETED: the journal that lost that disagrees too.
    assertThat(c1.violations())
        .extracting(Violation::sagaId)
        .containsExactlyInAnyOrder(COMPLETED, COMPLETED, FAILED);
    assertThat(c1.violations())
        .extracting(Violation::message)
        .anyMatch(m -> m.equals("ended RUNNING in the journal"))
        .anyMatch(m -> m.equals("GET on node1 answered COMPLETED, the journal says RUNNING"))
        .anyMatch(m -> m.contains("no cause in the ledger"));
  }

  @Test
  void c1FiresOnAFinalGetThatDisagreesWithTheJournal() throws Exception {
    Path files = files();
    Path history = files.resolve(CheckInputs.HISTORY);
    List<ApiCall> calls = Jsonl.read(history, ApiCall.class);
    Files.delete(history);
    try (var out = new Jsonl.Writer(history)) {
      for (ApiCall c : calls) {
        boolean finalGet = c.op() == ApiCall.Op.GET && COMPLETED.equals(c.sagaId());
        out.write(
            finalGet
                ? new ApiCall(
                    c.t(),
                    c.worker(),
                    c.op(),
                    c.sagaId(),
                    c.node(),
                    c.phase(),
                    c.http(),
                    "COMPENSATED",
                    null)
                : c);
      }
    }
    CheckResult c1 = RunCopies.check(files, RunCopies.database(db)).check("C1");
    assertThat(c1.violations()).extracting(Violation::sagaId).containsExactly(COMPLETED);
    assertThat(c1.violations().get(0).message()).contains("answered COMPENSATED");
  }

  @Test
  void c2FiresOnAnAcknowledgedSagaMissingFromTheJournal() {
    TestDatabase copy = RunCopies.database(db);
    copy.execute(
        "DELETE FROM event_journal WHERE persistence_id = '"
            + SagaHistory.persistenceId(COMPENSATED).id()
            + "'");
    CheckResult c2 = RunCopies.check(files(), copy).check("C2");
    assertThat(c2.violations()).extracting(Violation::sagaId).containsExactly(COMPENSATED);
    assertThat(c2.violations().get(0).message()).contains("not in the journal");
  }

  @Test
  void c7FiresWhenNoNodeAnsweredReadyAfterTheLastFault() {
    Path files = files();
    assertThat(
            RunCopies.dropLines(files.resolve(CheckInputs.HISTORY), l -> l.contains("\"READY\"")))
        .isEqualTo(1);
    CheckResult c7 = RunCopies.check(files, RunCopies.database(db)).check("C7");
    assertThat(c7.violations())
        .singleElement()
        .satisfies(v -> assertThat(v.message()).contains("node1 never answered ready"));
  }

  /** The message PostgreSQL gives a second write of an existing event: what a node would log. */
  private static String duplicateKey(TestDatabase copy) throws SQLException {
    try (Connection c = copy.connect();
        Statement s = c.createStatement()) {
      s.executeUpdate(
          "INSERT INTO event_journal (persistence_id, sequence_number, writer, write_timestamp,"
              + " event_ser_id, event_ser_manifest, event_payload) SELECT persistence_id,"
              + " sequence_number, 'second-writer', write_timestamp, event_ser_id,"
              + " event_ser_manifest, event_payload FROM event_journal"
              + where(COMPENSATED, 2));
    } catch (SQLException e) {
      assertThat(e.getMessage()).contains("duplicate key");
      return e.getMessage().replace('\n', ' ');
    }
    throw new AssertionError("the journal took a second event 2 of " + COMPENSATED);
  }

  private static String where(String sagaId, long seqNr) {
    return " WHERE persistence_id = '"
        + SagaHistory.persistenceId(sagaId).id()
        + "' AND sequence_number = "
        + seqNr;
  }
}
