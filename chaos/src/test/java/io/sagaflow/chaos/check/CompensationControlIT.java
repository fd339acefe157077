package io.sagaflow.chaos.check;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.chaos.ChaosParticipant;
import io.sagaflow.chaos.participant.FaultMix;
import io.sagaflow.chaos.participant.ParticipantOptions;
import io.sagaflow.persistence.testing.TestDatabase;
import java.nio.file.Path;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The negative control of C4: a participant that answers every compensation 200 without undoing
 * anything leaves a compensated saga with an applied step, and C4 says so.
 */
class CompensationControlIT {
  static final long SEED = 11;
  static final FaultMix MIX = FaultMix.parse("none,reject=0.5");

  @TempDir Path runDir;

  @Test
  void aSkippedCompensationLeavesAnAppliedStepAndC4Fires() {
    String id = NodeRun.idWhere("skips", MIX, SEED, Set.of("charge"));
    TestDatabase db = TestDatabase.fresh();
    var options =
        ParticipantOptions.of(SEED, runDir.resolve("ledger.jsonl"))
            .withMix(MIX)
            .skippingCompensationEvery(1);
    try (var participant = ChaosParticipant.start(options);
        var node = NodeRun.start(db, participant.port(), runDir)) {
      assertThat(node.startSaga(id)).isEqualTo(201);
      assertThat(node.awaitSettled(id)).isEqualTo("COMPENSATED");
      node.probeReady();
    }
    CheckReport report = RunCopies.check(runDir, db);
    assertThat(report.check("C4").violations())
        .singleElement()
        .satisfies(
            v -> {
              assertThat(v.sagaId()).isEqualTo(id);
              assertThat(v.message()).contains("reserve applied 1x, undone 0x");
            });
    assertThat(report.violations()).as(report.render()).hasSize(1);
  }
}
