package io.sagaflow.bench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.HdrHistogram.Histogram;

/**
 * Every figure of one measured phase. Work figures (rows, transactions, calls) cover the sagas'
 * whole life: from the first start until the index has caught up and every saga has passivated.
 *
 * @param options what was run
 * @param database the server, its version and durability
 * @param embeddedDatabase whether the bench started the PostgreSQL server itself
 * @param sagas sagas started in the measured phase
 * @param completed sagas that ended {@code COMPLETED}
 * @param compensated sagas that ended {@code COMPENSATED}
 * @param failed sagas that ended {@code FAILED}
 * @param unfinished sagas that had not ended when the phase timed out
 * @param startErrors starts that were not acknowledged as created
 * @param elapsedSeconds from the first (intended) start to the last saga's end
 * @param latency start (intended, in the open loop) to terminal event written, in ms
 * @param ack start (intended) to {@code engine.start} completed ({@code SagaStarted} written)
 * @param journalRows journal rows of the phase's sagas
 * @param shardingRows journal rows written by sharding (remember-entities stores) meanwhile
 * @param coordinatorRows of those, the coordinator's: a shard remembered on its first use (once per
 *     shard and cluster, so warm-up should have paid them)
 * @param dbTransactions committed transactions of the database meanwhile ({@code
 *     pg_stat_database.xact_commit}, read-only ones included, the bench's own queries excluded)
 * @param dbWriteTransactions transactions that wrote anything, server-wide (transaction ids used)
 * @param dbRollbacks rolled-back transactions meanwhile
 * @param participantCalls calls per step action ({@code step-i}) and compensation ({@code
 *     step-i/compensate}) in the phase
 * @param peakHeapMb sum of the heap pools' peak use during the phase
 * @param nodeCpuSeconds CPU time of this JVM (node and load generator) during the phase
 * @param dbCpuSeconds CPU time of the embedded PostgreSQL's processes; NaN for an external one
 * @param participantCpuSeconds CPU time of the participant JVM; NaN for local steps
 * @param gcCount garbage collections during the phase
 * @param gcSeconds time spent in them
 * @param indexLagSeconds from the last saga's end until the saga index showed every saga's end
 * @param windowSeconds the whole window the work figures cover
 * @param problems what went wrong; empty when every saga was verified
 */
public record BenchResult(
    BenchOptions options,
    String database,
    boolean embeddedDatabase,
    int sagas,
    long completed,
    long compensated,
    long failed,
    long unfinished,
    long startErrors,
    double elapsedSeconds,
    Latency latency,
    Latency ack,
    long journalRows,
    long shardingRows,
    long coordinatorRows,
    long dbTransactions,
    long dbWriteTransactions,
    long dbRollbacks,
    Map<String, Long> participantCalls,
    double peakHeapMb,
    double nodeCpuSeconds,
    double dbCpuSeconds,
    double participantCpuSeconds,
    long gcCount,
    double gcSeconds,
    double indexLagSeconds,
    double windowSeconds,
    List<String> problems)
    implements BenchReport {

  /** Percentiles of a histogram recorded in microseconds, in milliseconds. */
  public record Latency(double p50, double p90, double p99, double p999, double max, double mean) {
    static Latency of(Histogram micros) {
      if (micros.getTotalCount() == 0) {
        return new Latency(Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN);
      }
      return new Latency(
          ms(micros.getValueAtPercentile(50)),
          ms(micros.getValueAtPercentile(90)),
          ms(micros.getValueAtPercentile(99)),
          ms(micros.getValueAtPercentile(99.9)),
          ms(micros.getMaxValue()),
          micros.getMean() / 1000.0);
    }

    private static double ms(long micros) {
      return micros / 1000.0;
    }

    Map<String, Object> json() {
      var m = new LinkedHashMap<String, Object>();
      m.put("p50", round(p50, 3));
      m.put("p90", round(p90, 3));
      m.put("p99", round(p99, 3));
      m.put("p999", round(p999, 3));
      m.put("max", round(max, 3));
      m.put("mean", round(mean, 3));
      return m;
    }
  }

  /** Whether every saga reached the expected end with the expected journal and calls. */
  public boolean verified() {
    return problems.isEmpty();
  }

  /** Sagas that reached their terminal status ({@code COMPLETED} or {@code COMPENSATED}). */
  public long finished() {
    return completed + compensated;
  }

  /** Sagas that reached their terminal status per second of {@link #elapsedSeconds}. */
  public double completedPerSecond() {
    return elapsedSeconds > 0 ? finished() / elapsedSeconds : Double.NaN;
  }

  public double journalRowsPerSaga() {
    return perSaga(journalRows);
  }

  public double shardingRowsPerSaga() {
    return perSaga(shardingRows);
  }

  public double dbTransactionsPerSaga() {
    return perSaga(dbTransactions);
  }

  public double dbWriteTransactionsPerSaga() {
    return perSaga(dbWriteTransactions);
  }

  public double participantCallsPerSaga() {
    return perSaga(participantCalls.values().stream().mapToLong(Long::longValue).sum());
  }

  private double perSaga(double value) {
    return sagas == 0 ? Double.NaN : value / sagas;
  }

  /** Every figure as one JSON object. */
  public String toJson() {
    var m = new LinkedHashMap<String, Object>();
    m.put("mode", options.openLoop() ? "open" : "closed");
    m.put("participants", options.participants().toString());
    m.put("steps", options.steps());
    m.put("failAt", options.failAt());
    m.put("concurrency", options.openLoop() ? null : options.concurrency());
    m.put("rate", options.openLoop() ? options.rate() : null);
    m.put("durationSeconds", options.openLoop() ? options.durationSeconds() : null);
    m.put("warmup", options.warmup());
    m.put("leadInSeconds", options.leadInSeconds());
    m.put("analyzeAfterWarmup", !options.noAnalyze());
    m.put("database", database);
    m.put("embeddedDatabase", embeddedDatabase);
    m.put("sagas", sagas);
    m.put("completed", completed);
    m.put("compensated", compensated);
    m.put("failed", failed);
    m.put("unfinished", unfinished);
    m.put("startErrors", startErrors);
    m.put("elapsedSeconds", round(elapsedSeconds, 3));
    m.put("completedPerSecond", round(completedPerSecond(), 1));
    m.put("latencyMs", latency.json());
    m.put("ackLatencyMs", ack.json());
    m.put("journalRows", journalRows);
    m.put("journalRowsPerSaga", round(journalRowsPerSaga(), 3));
    m.put("shardingRows", shardingRows);
    m.put("shardingRowsPerSaga", round(shardingRowsPerSaga(), 3));
    m.put("coordinatorRows", coordinatorRows);
    m.put("dbTransactions", dbTransactions);
    m.put("dbTransactionsPerSaga", round(dbTransactionsPerSaga(), 3));
    m.put("dbWriteTransactions", dbWriteTransactions);
    m.put("dbWriteTransactionsPerSaga", round(dbWriteTransactionsPerSaga(), 3));
    m.put("dbRollbacks", dbRollbacks);
    m.put("participantCalls", participantCalls);
    m.put("participantCallsPerSaga", round(participantCallsPerSaga(), 3));
    m.put("peakHeapMb", round(peakHeapMb, 1));
    m.put("nodeCpuSeconds", round(nodeCpuSeconds, 3));
    m.put("nodeCpuMsPerSaga", round(perSaga(nodeCpuSeconds * 1000), 4));
    m.put("dbCpuSeconds", round(dbCpuSeconds, 2));
    m.put("participantCpuSeconds", round(participantCpuSeconds, 2));
    m.put("gcCount", gcCount);
    m.put("gcSeconds", round(gcSeconds, 3));
    m.put("indexLagSeconds", round(indexLagSeconds, 3));
    m.put("windowSeconds", round(windowSeconds, 3));
    m.put("verified", verified());
    m.put("problems", problems);
    try {
      return new ObjectMapper().writeValueAsString(m);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The figures as a human-readable table. */
  public String toTable() {
    var t = new StringBuilder();
    t.append("Sagaflow bench: ").append(options.describe()).append('\n');
    t.append("database: ")
        .append(embeddedDatabase ? "embedded " : "external ")
        .append(database)
        .append("\n\n");
    row(
        t,
        "sagas",
        sagas
            + "  (completed "
            + completed
            + ", compensated "
            + compensated
            + ", failed "
            + failed
            + ", unfinished "
            + unfinished
            + ", start errors "
            + startErrors
            + ")");
    row(
        t,
        "throughput",
        f("%.1f sagas/s", completedPerSecond())
            + f("  (%d ended in %.2f s", finished(), elapsedSeconds)
            + (options.openLoop() ? f("; offered %d/s)", options.rate()) : ")"));
    row(t, "latency ms, start to end", percentiles(latency, true));
    row(t, "ack latency ms", percentiles(ack, false));
    row(
        t,
        "journal rows / saga",
        f("%.2f", journalRowsPerSaga())
            + f(
                "  (+ %.2f sharding rows / saga, of which %d coordinator rows in all)",
                shardingRowsPerSaga(), coordinatorRows));
    row(
        t,
        "db transactions / saga",
        f("%.2f", dbTransactionsPerSaga())
            + f(
                "  (writing: %.2f / saga; rollbacks %d)",
                dbWriteTransactionsPerSaga(), dbRollbacks));
    row(
        t,
        "participant calls / saga",
        f("%.2f", participantCallsPerSaga()) + "  " + participantCalls);
    row(
        t,
        "node CPU (this JVM)",
        f("%.2f s  (%.3f ms / saga)", nodeCpuSeconds, perSaga(nodeCpuSeconds * 1000)));
    if (!Double.isNaN(dbCpuSeconds)) {
      row(
          t,
          "PostgreSQL CPU",
          f("%.2f s  (%.3f ms / saga)", dbCpuSeconds, perSaga(dbCpuSeconds * 1000)));
    }
    if (!Double.isNaN(participantCpuSeconds)) {
      row(t, "participant JVM CPU", f("%.2f s", participantCpuSeconds));
    }
    row(t, "peak heap", f("%.0f MB  (%d GCs, %.2f s)", peakHeapMb, gcCount, gcSeconds));
    row(
        t,
        "index lag",
        f(
            "%.2f s after the last saga  (work measured over %.2f s)",
            indexLagSeconds, windowSeconds));
    if (problems.isEmpty()) {
      row(t, "verified", "yes: every saga checked in the journal, the index and the participant");
    } else {
      row(t, "verified", "NO, " + problems.size() + " problem(s):");
      for (String p : problems) {
        t.append("    - ").append(p).append('\n');
      }
    }
    return t.toString();
  }

  private static String percentiles(Latency l, boolean full) {
    return full
        ? f(
            "p50 %.2f  p90 %.2f  p99 %.2f  p99.9 %.2f  max %.2f",
            l.p50, l.p90, l.p99, l.p999, l.max)
        : f("p50 %.2f  p90 %.2f  p99 %.2f  max %.2f", l.p50, l.p90, l.p99, l.max);
  }

  private static void row(StringBuilder t, String name, String value) {
    t.append(String.format(Locale.ROOT, "  %-26s %s%n", name, value));
  }

  private static String f(String format, Object... args) {
    return String.format(Locale.ROOT, format, args);
  }

  private static Object round(double value, int decimals) {
    if (Double.isNaN(value) || Double.isInfinite(value)) {
      return null;
    }
    double scale = Math.pow(10, decimals);
    return Math.round(value * scale) / scale;
  }
}
