package io.sagaflow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.testing.TestDatabase;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The waiting benchmark on a small scale: every saga fails its first attempt, waits out its backoff
 * (in the node on an actor timer, or, waiting at least durable-from, out of memory on its durable
 * timer; never woken by the recovery sweep) and completes with its second, and the command checks
 * each one's journal. Its figures (heap, lateness) are the benchmark's business, not asserted here.
 */
class WaitingBenchIT {

  @Test
  void everySagaWaitsItsBackoffThenCompletesWithOneRetry() {
    TestDatabase db = TestDatabase.fresh();
    Map<String, String> env =
        Map.of(
            DatabaseSettings.URL_ENV, db.jdbcUrl(),
            DatabaseSettings.USER_ENV, db.user(),
            DatabaseSettings.PASSWORD_ENV, db.password());

    WaitingBench.Result result =
        WaitingBench.run(
            WaitingBench.Options.parse(new String[] {"--sagas", "200", "--backoff", "3"}),
            env,
            line -> {});

    assertThat(result.problems()).isEmpty();
    assertThat(result.completed()).isEqualTo(200);
    assertThat(result.liveEntities()).as("sagas alive while they wait").isEqualTo(200);
    assertThat(result.heapWhileWaitingMb()).isPositive();
    assertThat(
            db.count(
                "select count(*) from event_journal where event_ser_manifest like"
                    + " '%StepAttemptFailed'"))
        .isEqualTo(200);
  }

  @Test
  void sagasWaitingAtLeastDurableFromLeaveMemoryAndTheirTimersWakeThem() {
    TestDatabase db = TestDatabase.fresh();
    Map<String, String> env =
        Map.of(
            DatabaseSettings.URL_ENV, db.jdbcUrl(),
            DatabaseSettings.USER_ENV, db.user(),
            DatabaseSettings.PASSWORD_ENV, db.password());

    WaitingBench.Result result =
        WaitingBench.run(
            WaitingBench.Options.parse(new String[] {"--sagas", "200", "--backoff", "12"}),
            env,
            line -> {});

    assertThat(result.problems()).isEmpty();
    assertThat(result.completed()).isEqualTo(200);
    assertThat(result.liveEntities()).as("sagas alive while they wait").isZero();
    assertThat(result.timersWhileWaiting()).isEqualTo(200);
    assertThat(db.count("select count(*) from saga_timer")).isZero();
  }

  @Test
  void badOptionsExitWithTwoAndTheUsage() {
    var err = new ByteArrayOutputStream();
    int exit =
        WaitingBench.run(
            new String[] {"--sagas", "0"},
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));

    assertThat(exit).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("--sagas must be a positive integer, was 0")
        .contains("Usage: java -Xmx1g -jar sagaflow-bench.jar bench-waiting");
  }
}
