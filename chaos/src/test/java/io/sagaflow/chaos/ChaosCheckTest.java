package io.sagaflow.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sagaflow.chaos.check.CheckInputs;
import io.sagaflow.chaos.participant.FaultMix;
import io.sagaflow.chaos.participant.ParticipantOptions;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ChaosCheckTest {

  @Test
  void readsTheRunDirectoryAndTheDatabase() {
    CheckInputs inputs =
        ChaosCheck.parse(
            new String[] {
              "runs/1", "--db-url", "jdbc:postgresql://h/db", "--db-user", "u", "--db-password", "p"
            });
    assertThat(inputs)
        .isEqualTo(new CheckInputs(Path.of("runs/1"), "jdbc:postgresql://h/db", "u", "p"));
    assertThatThrownBy(() -> ChaosCheck.parse(new String[] {"runs/1"}))
        .hasMessageContaining("--db-url");
  }

  @Test
  void participantOptionsReadTheCommandLine() {
    ParticipantOptions o =
        ParticipantOptions.parse(
            new String[] {
              "--port",
              "0",
              "--seed",
              "42",
              "--ledger",
              "l.jsonl",
              "--no-dedup",
              "--skip-compensation-every",
              "3",
              "--mix",
              "none,slow=0.5"
            });
    assertThat(o)
        .isEqualTo(
            new ParticipantOptions(
                0, 42, Path.of("l.jsonl"), false, 3, FaultMix.parse("none,slow=0.5")));
    assertThatThrownBy(() -> ParticipantOptions.parse(new String[] {"--seed", "1"}))
        .hasMessageContaining("--ledger");
  }
}
