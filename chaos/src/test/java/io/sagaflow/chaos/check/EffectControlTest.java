package io.sagaflow.chaos.check;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.chaos.ChaosParticipant;
import io.sagaflow.chaos.ChaosSaga;
import io.sagaflow.chaos.format.Jsonl;
import io.sagaflow.chaos.format.LedgerEntry;
import io.sagaflow.chaos.participant.Calls;
import io.sagaflow.chaos.participant.FaultMix;
import io.sagaflow.chaos.participant.ParticipantOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The negative control of C3: a participant that does not dedupe applies a duplicate twice. */
class EffectControlTest {
  @TempDir Path dir;

  @Test
  void duplicatesWithoutDedupApplyTwiceAndC3SaysSo() {
    CheckResult c3 =
        c3(
            ParticipantOptions.of(3, ledger())
                .withMix(FaultMix.parse("none,duplicate=1"))
                .withoutDedup());
    assertThat(c3.examined()).isEqualTo(8);
    assertThat(c3.violations()).hasSize(8);
    assertThat(c3.violations().get(0).sagaId()).startsWith("control-");
    assertThat(c3.violations().get(0).message()).contains("APPLIED 2 times");
  }

  @Test
  void theSameDuplicatesWithDedupPassC3() {
    CheckResult c3 =
        c3(ParticipantOptions.of(3, ledger()).withMix(FaultMix.parse("none,duplicate=1")));
    assertThat(c3.examined()).isEqualTo(8);
    assertThat(c3.violations()).isEmpty();
  }

  private Path ledger() {
    return dir.resolve("ledger.jsonl");
  }

  /** Two sagas' forward calls, each delivered (and so, duplicated) once, then C3 on the ledger. */
  private CheckResult c3(ParticipantOptions options) {
    try (var p = ChaosParticipant.start(options)) {
      for (String saga : List.of("control-1", "control-2")) {
        for (ChaosSaga.StepSpec step : ChaosSaga.STEPS) {
          assertThat(Calls.forward(p.port(), saga, step.participant(), step.name()).status())
              .isEqualTo(200);
        }
      }
    }
    var data =
        new RunData(
            List.of(), Jsonl.read(ledger(), LedgerEntry.class), List.of(), List.of(), Map.of());
    assertThat(data.ledger()).hasSize(16);
    return Checker.check(data).check("C3");
  }
}
