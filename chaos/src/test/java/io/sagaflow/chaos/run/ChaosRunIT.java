package io.sagaflow.chaos.run;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The CI chaos check: the short profile end to end (three node JVMs, PostgreSQL, the participants'
 * JVM, two kills, a SIGSTOP past the failure detector, a PostgreSQL restart, a partition, a short
 * storm), then the checker. The seed is fixed so that a failure can be run again as it happened
 * ({@code -Dchaos.seed=...} picks another).
 */
class ChaosRunIT {

  @Test
  void shortProfileCompletesAndTheCheckerFindsNoViolation() {
    long seed = Long.getLong("chaos.seed", 42L);
    Path dir = Path.of("target", "chaos-it", "short-" + seed + "-" + System.currentTimeMillis());
    RunOptions options = RunOptions.profile("short", seed).withDir(dir);

    RunReport report = ChaosRunner.execute(options, System.out);

    assertThat(report.failure()).as("why the run did not complete (see %s)", dir).isNull();
    assertThat(report.completed()).isTrue();
    assertThat(report.faults()).as("faults injected").hasSize(6);
    assertThat(report.sagasAcknowledged()).isGreaterThanOrEqualTo(options.sagas() / 2);
    assertThat(report.notEndedAfterDrain()).as("acknowledged sagas that never ended").isEmpty();
    assertThat(report.checksOk()).as("the checker's verdict:%n%s", report.verdict()).isTrue();
  }
}
