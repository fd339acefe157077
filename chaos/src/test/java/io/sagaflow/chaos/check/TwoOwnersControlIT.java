package io.sagaflow.chaos.check;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.chaos.ChaosParticipant;
import io.sagaflow.chaos.format.Jsonl;
import io.sagaflow.chaos.participant.FaultMix;
import io.sagaflow.chaos.participant.ParticipantOptions;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.persistence.testing.TestDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The negative control of C5: two nodes forced to own one saga. Two single-node clusters in this
 * JVM, each with its own valid node lease, share one database, so each thinks it alone hosts every
 * saga: the same saga started through both has two live incarnations writing one journal, and C5
 * must say so. A saga started through one node only, in the same run, must not be flagged.
 */
class TwoOwnersControlIT {
  static final long SEED = 11;

  /** Every call answers after 100..800 ms, nothing else: both owners are mid-saga at once. */
  static final FaultMix MIX = FaultMix.parse("none,slow=1");

  private static final Logger log = LoggerFactory.getLogger(TwoOwnersControlIT.class);

  @TempDir Path runDir;

  @Test
  void oneSagaStartedThroughTwoClustersHasTwoWritersAndC5Fires() {
    String contested = "contested";
    String solo = "solo";
    TestDatabase db = TestDatabase.fresh();
    NodeRun.faultsOver(runDir);
    var options = ParticipantOptions.of(SEED, runDir.resolve(CheckInputs.LEDGER)).withMix(MIX);
    try (var participant = ChaosParticipant.start(options);
        var history = new Jsonl.Writer(runDir.resolve(CheckInputs.HISTORY));
        var node1 = NodeRun.start(db, participant.port(), runDir, "node1", history);
        var node2 = NodeRun.start(db, participant.port(), runDir, "node2", history)) {
      // The positive half, which also has node2's shard region up before the contested start.
      assertThat(node2.startSaga(solo)).isEqualTo(201);
      assertThat(node2.awaitSettled(solo)).isEqualTo("COMPLETED");

      // node1 creates the saga and goes on to its first step; node2, a cluster of its own, finds
      // the saga in the journal (200: it exists) and its incarnation drives it too.
      assertThat(node1.startSaga(contested)).isEqualTo(201);
      assertThat(node2.startSaga(contested)).isEqualTo(200);
      // The driver's detail of a duplicate journal row of this saga: one owner lost a write.
      String journalKey = "Key (persistence_id, sequence_number)=(saga|" + contested + ",";
      Eventually.until(
          "a node log reporting a duplicate journal key of " + contested,
          Duration.ofSeconds(30),
          () -> logsMention(runDir, journalKey));
      node1.awaitSettled(contested);
      node2.awaitSettled(contested);
      node1.probeReady();
      node2.probeReady();
    }

    CheckReport report = RunCopies.check(runDir, db);
    log.info("Two owners of {}, one of {}:\n{}", contested, solo, report.render());
    CheckResult c5 = report.check("C5");
    assertThat(c5.examined()).isEqualTo(2);
    // The saga only node2 ever owned is examined and not flagged: C5 names the contested one only.
    assertThat(c5.violations())
        .as(report.render())
        .isNotEmpty()
        .extracting(Violation::sagaId)
        .containsOnly(contested);
    assertThat(c5.violations())
        .extracting(Violation::message)
        .anyMatch(m -> m.contains("duplicate key") && m.contains("saga|" + contested + ","));
  }

  /** Whether a line of a {@code node*.log} in {@code dir} contains {@code text}. */
  private static boolean logsMention(Path dir, String text) {
    try (DirectoryStream<Path> logs = Files.newDirectoryStream(dir, "node*.log")) {
      for (Path file : logs) {
        try (var lines = Files.lines(file)) {
          if (lines.anyMatch(l -> l.contains(text))) {
            return true;
          }
        }
      }
      return false;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
