package io.sagaflow.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.entry;

import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Guards the work a saga costs, not its speed: runs small benchmarks through the same code as
 * {@code sagaflow-bench.jar bench} (one saga at a time, on a fresh test database) and checks
 * journal rows, participant calls and database write transactions per saga. A change that adds a
 * write per step fails here; timings are the benchmark's business (BENCHMARKS.md), never a test's.
 *
 * <p>Transactions are counted as transaction ids used ({@code txid_current_snapshot()}'s xmax
 * before and after): only a transaction that writes takes one, so reads (the index projection's
 * polling, the bench's own queries) do not blur the count, which {@code pg_stat_database.
 * xact_commit} would (it counts reads too, and lags).
 */
class WorkPerSagaIT {

  private static final int SAGAS = 20;

  /**
   * Write transactions one saga may cost when sagas run one at a time (nothing to batch), for a
   * happy 3-step saga: at most 6, which is
   *
   * <ul>
   *   <li>(not counted: sharding's coordinator remembers each shard on its first use, one
   *       transaction per shard and cluster, which the test's few sagas often pay; subtracted)
   *   <li>4 journal writes: SagaStarted, StepSucceeded(step-1), StepSucceeded(step-2),
   *       SagaCompleted(step-3) (tagged events insert their event_tag row in the same transaction);
   *   <li>no sharding writes: sagas are not remembered entities (sagaflow.engine.remember-entities
   *       = off; the recovery sweep wakes them);
   *   <li>1 or 2 saga index projection transactions: it commits a group of status changes with its
   *       offset, so SagaStarted and SagaCompleted share one when they arrive within
   *       sagaflow.index.group-max-delay of each other.
   * </ul>
   */
  static final long HAPPY_WRITES_PER_SAGA = 6;

  /**
   * The same for a saga whose step 3 is rejected: 6 journal writes (SagaStarted, 2 × StepSucceeded,
   * StepFailed, 2 × StepCompensated) and 1 to 3 index transactions (SagaStarted, StepFailed, the
   * last StepCompensated).
   */
  static final long COMPENSATED_WRITES_PER_SAGA = 9;

  /**
   * Transaction ids are the server's: its own background work may take a few during a run
   * (autovacuum's ANALYZE takes one per table it analyzes). One more write per saga would add 20,
   * one more per step 60, so this slack hides neither.
   */
  static final long BACKGROUND_WRITES = 10;

  @Test
  void aHappyThreeStepSagaCostsFourJournalRowsAndOneCallPerStep() throws Exception {
    BenchResult result = run("--sagas", "20", "--concurrency", "1", "--steps", "3");

    assertThat(result.problems()).isEmpty();
    assertThat(result.completed()).isEqualTo(SAGAS);
    // SagaStarted + 2 × StepSucceeded (each also moves to the next step) + SagaCompleted.
    assertThat(result.journalRows()).isEqualTo(4L * SAGAS);
    assertThat(result.participantCalls())
        .containsOnly(
            entry("step-1", (long) SAGAS),
            entry("step-2", (long) SAGAS),
            entry("step-3", (long) SAGAS),
            entry("step-1/compensate", 0L),
            entry("step-2/compensate", 0L),
            entry("step-3/compensate", 0L));
    // No remembered entities: sharding writes only the coordinator's one row per shard on its first
    // use (100 shards: most of these sagas land on a new one).
    assertThat(result.shardingRows() - result.coordinatorRows()).isZero();
    assertThat(result.dbWriteTransactions() - result.coordinatorRows())
        .as("write transactions for %d happy sagas run one at a time", SAGAS)
        .isBetween(4L * SAGAS, HAPPY_WRITES_PER_SAGA * SAGAS + BACKGROUND_WRITES);
  }

  @Test
  void aSagaRejectedAtStepThreeCompensatesStepsTwoAndOneOnce() throws Exception {
    BenchResult result =
        run("--sagas", "20", "--concurrency", "1", "--steps", "3", "--fail-at", "3");

    assertThat(result.problems()).isEmpty();
    assertThat(result.compensated()).isEqualTo(SAGAS);
    assertThat(result.completed()).isZero();
    // SagaStarted, StepSucceeded(step-1), StepSucceeded(step-2), StepFailed(step-3),
    // StepCompensated(step-2), StepCompensated(step-1).
    assertThat(result.journalRows()).isEqualTo(6L * SAGAS);
    assertThat(result.participantCalls())
        .containsOnly(
            entry("step-1", (long) SAGAS),
            entry("step-2", (long) SAGAS),
            entry("step-3", (long) SAGAS),
            entry("step-1/compensate", (long) SAGAS),
            entry("step-2/compensate", (long) SAGAS),
            entry("step-3/compensate", 0L));
    assertThat(result.shardingRows() - result.coordinatorRows()).isZero();
    assertThat(result.dbWriteTransactions() - result.coordinatorRows())
        .as("write transactions for %d compensated sagas run one at a time", SAGAS)
        .isBetween(6L * SAGAS, COMPENSATED_WRITES_PER_SAGA * SAGAS + BACKGROUND_WRITES);
  }

  @Test
  void httpStepsCallTheParticipantJvmOncePerStepWithADistinctKey() throws Exception {
    BenchResult result =
        run(
            "--sagas",
            "10",
            "--concurrency",
            "2",
            "--steps",
            "3",
            "--participants",
            "http",
            "--fail-at",
            "2");

    // The bench checks the participant's own counts: one call per key, no key repeated.
    assertThat(result.problems()).isEmpty();
    assertThat(result.compensated()).isEqualTo(10);
    assertThat(result.journalRows()).isEqualTo(4L * 10);
    assertThat(result.participantCalls())
        .contains(entry("step-1", 10L), entry("step-2", 10L), entry("step-1/compensate", 10L))
        .doesNotContainKeys("step-3", "step-2/compensate");
    assertThat(result.participantCpuSeconds()).isPositive();
  }

  @Test
  void aTimelineListsEveryMeasuredSagaWithItsLatency(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("timeline.csv");
    BenchResult result = run("--sagas", "10", "--concurrency", "2", "--timeline", file.toString());

    assertThat(result.completed()).isEqualTo(10L);
    List<String> lines = Files.readAllLines(file);
    assertThat(lines.get(0)).isEqualTo("saga,start_ms,jvm_uptime_ms,latency_ms");
    assertThat(lines.subList(1, lines.size()))
        .hasSize(10)
        .allSatisfy(
            line -> {
              String[] f = line.split(",", -1);
              assertThat(Double.parseDouble(f[1])).isGreaterThanOrEqualTo(0);
              assertThat(Double.parseDouble(f[2])).isPositive();
              assertThat(Double.parseDouble(f[3])).isPositive();
            })
        .extracting(line -> line.split(",")[0])
        .containsExactly("0", "1", "2", "3", "4", "5", "6", "7", "8", "9");
  }

  @Test
  void anOpenLoopsLeadInRunsAtTheRateAndIsNotCounted() throws Exception {
    TestDatabase db = TestDatabase.fresh();
    List<String> progress = new java.util.concurrent.CopyOnWriteArrayList<>();
    BenchResult result =
        run(db, progress::add, "--rate", "20", "--duration", "1", "--lead-in", "2");

    assertThat(result.problems()).isEmpty();
    assertThat(progress).contains("lead-in: 20 sagas/s for 2 s, not counted");
    assertThat(result.sagas()).isEqualTo(20);
    assertThat(result.completed()).isEqualTo(20);
    assertThat(result.journalRows()).isEqualTo(4L * 20);
    // The lead-in's 40 sagas ran to the end too, under their own prefix, before the measured ones.
    assertThat(db.count("select count(*) from saga_index where saga_id like 'bench-%-l-%'"))
        .isEqualTo(40);
    assertThat(
            db.count(
                "select count(*) from saga_index where saga_id like 'bench-%-l-%'"
                    + " and status = 'COMPLETED'"))
        .isEqualTo(40);
    assertThat(
            db.count(
                "select count(*) from saga_index l, saga_index m"
                    + " where l.saga_id like 'bench-%-l-%' and m.saga_id like 'bench-%-m-%'"
                    + " and l.updated_at > m.created_at"))
        .as("lead-in sagas that ended after a measured one started")
        .isZero();
  }

  private static BenchResult run(String... args) throws Exception {
    return run(TestDatabase.fresh(), line -> {}, args);
  }

  private static BenchResult run(
      TestDatabase db, java.util.function.Consumer<String> progress, String... args)
      throws Exception {
    BenchOptions options = BenchOptions.parse(with(args, "--warmup", "3", "--timeout", "120"));
    Map<String, String> env =
        Map.of(
            DatabaseSettings.URL_ENV, db.jdbcUrl(),
            DatabaseSettings.USER_ENV, db.user(),
            DatabaseSettings.PASSWORD_ENV, db.password());
    BenchResult result = BenchRunner.run(options, env, progress);
    System.out.println(result.toTable());
    return result;
  }

  private static String[] with(String[] args, String... more) {
    String[] all = new String[args.length + more.length];
    System.arraycopy(args, 0, all, 0, args.length);
    System.arraycopy(more, 0, all, args.length, more.length);
    return all;
  }
}
