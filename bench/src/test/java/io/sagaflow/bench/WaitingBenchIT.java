package io.sagaflow.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.testing.TestDatabase;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The waiting benchmark on a small scale: every saga fails its first attempt, waits out its backoff
 * (in the node on an actor timer, or, waiting at least durable-from, out of memory on its durable
 * timer; never woken by the recovery sweep) and completes with its second, or, signalled, waits out
 * of memory for the signal the bench sends it and then runs its next step; the command checks each
 * one's journal. Its figures (heap, lateness) are the benchmark's business, not asserted here.
 */
class WaitingBenchIT {

  @Test
  void everySagaWaitsItsBackoffThenCompletesWithOneRetry() {
    TestDatabase db = TestDatabase.fresh();

    WaitingBench.Result result =
        WaitingBench.run(
            WaitingBench.Options.parse(new String[] {"--sagas", "200", "--backoff", "3"}),
            env(db),
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

    WaitingBench.Result result =
        WaitingBench.run(
            WaitingBench.Options.parse(new String[] {"--sagas", "200", "--backoff", "12"}),
            env(db),
            line -> {});

    assertThat(result.problems()).isEmpty();
    assertThat(result.completed()).isEqualTo(200);
    assertThat(result.liveEntities()).as("sagas alive while they wait").isZero();
    assertThat(result.timersWhileWaiting()).isEqualTo(200);
    assertThat(db.count("select count(*) from saga_timer")).isZero();
  }

  @Test
  void signalledSagasLeaveMemoryAndTheirSignalsWakeThemBesideTheirRetriedNeighbours() {
    TestDatabase db = TestDatabase.fresh();

    WaitingBench.Result result =
        WaitingBench.run(
            WaitingBench.Options.parse(
                new String[] {
                  "--sagas", "200", "--backoff", "12", "--signalled", "50", "--start-rate", "100"
                }),
            env(db),
            line -> {});

    assertThat(result.problems()).isEmpty();
    assertThat(result.completed()).isEqualTo(200);
    assertThat(result.signalled()).isEqualTo(100);
    assertThat(result.wokenBySignal()).as("sagas woken by their signal").isEqualTo(100);
    assertThat(result.wokenByTimer()).as("sagas woken by their timer").isEqualTo(100);
    assertThat(result.liveEntities()).as("sagas alive while they wait").isZero();
    assertThat(result.timersWhileWaiting()).isEqualTo(200);
    assertThat(
            db.count(
                "select count(*) from event_journal where event_ser_manifest like"
                    + " '%SignalReceived'"))
        .isEqualTo(100);
  }

  @Test
  void aSignalledShareIsSpreadEvenlyInStartOrder() {
    WaitingBench.Options options =
        WaitingBench.Options.parse(new String[] {"--sagas", "10", "--signalled", "30"});

    assertThat(options.signalledSagas()).isEqualTo(3);
    assertThat(IntStream.range(0, 10).filter(options::signalled)).containsExactly(3, 6, 9);
  }

  @Test
  void aStartRateTooSlowToStartEverySagaWithinTheBackoffExitsWithTwo() {
    var err = new ByteArrayOutputStream();
    int exit =
        WaitingBench.run(
            new String[] {"--sagas", "200", "--backoff", "12", "--start-rate", "10"},
            new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8),
            new PrintStream(err, true, StandardCharsets.UTF_8));

    assertThat(exit).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("--sagas 200 at --start-rate 10 take 20.0 s to start, not under --backoff 12");
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

  private static Map<String, String> env(TestDatabase db) {
    return Map.of(
        DatabaseSettings.URL_ENV, db.jdbcUrl(),
        DatabaseSettings.USER_ENV, db.user(),
        DatabaseSettings.PASSWORD_ENV, db.password());
  }
}
