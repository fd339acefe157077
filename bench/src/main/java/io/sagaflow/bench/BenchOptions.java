package io.sagaflow.bench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * What one benchmark run does, parsed from the command line ({@link #parse}). Two load shapes:
 *
 * <ul>
 *   <li><b>closed loop</b> (default): {@code concurrency} sagas in flight at all times, a new one
 *       started as soon as one finishes, {@code sagas} in all; measures the highest throughput.
 *   <li><b>open loop</b> ({@code --rate}): sagas started at a fixed rate for {@code duration}
 *       seconds whatever the node does; latency counts from each saga's intended start, so a node
 *       that falls behind shows it (no coordinated omission).
 * </ul>
 *
 * @param sagas measured sagas (closed loop), or {@code rate * durationSeconds} (open loop)
 * @param concurrency sagas in flight (closed loop and the warm-up)
 * @param rate sagas started per second (open loop); 0 for a closed loop
 * @param durationSeconds how long the open loop offers load; 0 for a closed loop
 * @param steps steps per saga, each with a compensation
 * @param participants {@code local} (no-op Java steps: the engine's own cost) or {@code http}
 *     (steps call a participant in a separate JVM)
 * @param failAt the step that is rejected (1-based), 0 for none: the saga then compensates steps
 *     1..failAt-1
 * @param warmup sagas run (closed loop, not counted) before measuring
 * @param leadInSeconds open loop: seconds of load at the measured rate, not counted, between the
 *     warm-up and the measured phase; 0 for a closed loop
 * @param timeoutSeconds how long the measured phase may take before the run fails
 * @param json print one JSON object with every figure after the table
 * @param noFsync run the embedded PostgreSQL with fsync and synchronous_commit off
 * @param noAnalyze skip the {@code ANALYZE} of the journal and index tables after the warm-up
 * @param verbose keep the node's INFO logging
 * @param timeline where to write one line per measured saga (its intended start and latency), if
 *     anywhere
 * @param help print the usage and do nothing else
 */
public record BenchOptions(
    int sagas,
    int concurrency,
    int rate,
    int durationSeconds,
    int steps,
    Participants participants,
    int failAt,
    int warmup,
    int leadInSeconds,
    int timeoutSeconds,
    boolean json,
    boolean noFsync,
    boolean noAnalyze,
    boolean verbose,
    Optional<Path> timeline,
    boolean help) {

  /** Where the steps run. */
  public enum Participants {
    LOCAL,
    LOCAL_NONBLOCKING,
    HTTP;

    @Override
    public String toString() {
      return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
  }

  static final int MAX_STEPS = 50;

  /**
   * Sagas run before measuring by default. Measured here (BENCHMARKS.md): a node's closed-loop
   * throughput climbs for its first ~40,000 sagas (about 600/s in the first 5 s, steady from ~35 s
   * on) while the JIT compiler works on the two vCPUs; the steady state is what a running node
   * costs, the start is what a node that has just (re)started costs.
   */
  static final int DEFAULT_WARMUP = 50_000;

  /**
   * Seconds of open-loop load at the measured rate before an open loop is measured, by default.
   * Measured here (BENCHMARKS.md): when a node that was warmed up in the closed loop (64 sagas in
   * flight, large journal batches) is switched to a steady rate (a few sagas in flight, batches of
   * one or two), the JIT compiler recompiles its hot paths for the new profile — ~400 compilations
   * a second, the node's CPU up by half for ~3 s — and the first seconds' latencies are those of
   * that transition, not of a node running at the rate.
   */
  static final int DEFAULT_LEAD_IN_SECONDS = 10;

  /** The usage text of {@code sagaflow-bench.jar bench}. */
  public static final String USAGE =
      """
      Usage: java -jar sagaflow-bench.jar bench [options]

      Starts a Sagaflow node in this JVM (embedded PostgreSQL in a fresh temporary directory, or
      the server named by SAGAFLOW_DB_URL / SAGAFLOW_DB_USER / SAGAFLOW_DB_PASSWORD), registers a
      synthetic saga, runs it under load, checks in the journal that every saga reached the
      expected end with the expected steps and compensations, and prints the figures. Exits 0
      when every saga was verified, 1 when a saga went wrong or the run failed, 2 on bad options.

      Load (closed loop unless --rate is given):
        --sagas N            sagas to measure in a closed loop (default 20000)
        --concurrency C      sagas in flight in the closed loop and the warm-up (default 64)
        --rate R             open loop: start R sagas per second, latency measured from each
                             saga's intended start time (coordinated omission corrected)
        --duration S         open loop: seconds to offer load (default 10)
        --warmup W           sagas run before measuring, at the same concurrency, not
                             counted (default 50000: on 2 vCPUs the JIT compiler needs about
                             40,000 sagas, half a minute of load, before a node runs at its
                             steady speed; a smaller W measures a node that has just started)
        --lead-in S          open loop: after the warm-up, S seconds of load at the measured
                             rate, not counted (default 10: switching a node from the closed
                             loop to a steady rate recompiles its hot paths for ~3 s); 0 measures
                             from the switch
        --timeout S          seconds the measured phase may take (default 600)

      Sagas:
        --steps N            steps per saga, each with a compensation (default 3, max 50)
        --participants P     local: steps are no-op Java functions (the engine's own cost),
                                    run on the local-step pool (LocalCall.of)
                             local-nonblocking: the same, on the saga's own thread
                                    (LocalCall.nonBlocking)
                             http:  steps call an HTTP participant that this command starts in a
                                    separate JVM (default local)
        --fail-at K          step K is rejected, so steps 1..K-1 are compensated; 0: none
                             (default 0)

      Output and database:
        --json               after the table, print one JSON object with every figure
        --no-fsync           embedded PostgreSQL with fsync and synchronous_commit off (faster,
                             not durable); the default is durable, like a real node
        --no-analyze         do not ANALYZE the journal and index tables after the warm-up. By
                             default the bench does, as autovacuum does within a minute or two
                             of a real node's start: a fresh database has no statistics, and
                             until it has, the index projection's eventsByTag query plans a
                             sequential scan of event_tag per journal row (see BENCHMARKS.md)
        --verbose            keep the node's INFO log
        --timeline FILE      write one CSV line per measured saga: its intended start (ms
                             after the measured phase began, and JVM uptime in ms, the clock
                             of -Xlog:gc…:uptimemillis), and its latency in ms; to find
                             which moments made the tail (16 bytes of heap per saga)
        --help               print this text

      Example: java -jar sagaflow-bench.jar bench --sagas 20000 --concurrency 64 --steps 3 \\
                 --participants local --fail-at 0 --json
      """;

  /** A command line that cannot be run; the message says why. */
  public static final class UsageException extends Exception {
    private static final long serialVersionUID = 1L;

    UsageException(String message) {
      super(message);
    }
  }

  /** Whether this is an open-loop run. */
  public boolean openLoop() {
    return rate > 0;
  }

  /** Sagas in the measured phase. */
  public int measuredSagas() {
    return openLoop() ? (int) Math.min(Integer.MAX_VALUE, (long) rate * durationSeconds) : sagas;
  }

  /** Sagas of the open loop's lead-in: {@code rate * leadInSeconds} (0 for a closed loop). */
  public int leadInSagas() {
    return (int) Math.min(Integer.MAX_VALUE, (long) rate * leadInSeconds);
  }

  /** Parses {@code --name value} and {@code --name=value} options. */
  public static BenchOptions parse(String... args) throws UsageException {
    Integer sagas = null;
    int concurrency = 64;
    int rate = 0;
    Integer duration = null;
    int steps = 3;
    Participants participants = Participants.LOCAL;
    int failAt = 0;
    int warmup = DEFAULT_WARMUP;
    Integer leadIn = null;
    int timeout = 600;
    boolean json = false;
    boolean noFsync = false;
    boolean noAnalyze = false;
    boolean verbose = false;
    Optional<Path> timeline = Optional.empty();
    boolean help = false;

    List<String> tokens = new ArrayList<>();
    for (String arg : args) {
      if (arg.startsWith("--") && arg.contains("=")) {
        tokens.add(arg.substring(0, arg.indexOf('=')));
        tokens.add(arg.substring(arg.indexOf('=') + 1));
      } else {
        tokens.add(arg);
      }
    }
    for (int i = 0; i < tokens.size(); i++) {
      String name = tokens.get(i);
      switch (name) {
        case "--help", "-h" -> help = true;
        case "--json" -> json = true;
        case "--no-fsync" -> noFsync = true;
        case "--no-analyze" -> noAnalyze = true;
        case "--verbose" -> verbose = true;
        case "--timeline" -> timeline = Optional.of(Path.of(value(tokens, i++)));
        case "--sagas" -> sagas = number(name, value(tokens, i++), 1, 100_000_000);
        case "--concurrency" -> concurrency = number(name, value(tokens, i++), 1, 100_000);
        case "--rate" -> rate = number(name, value(tokens, i++), 1, 1_000_000);
        case "--duration" -> duration = number(name, value(tokens, i++), 1, 86_400);
        case "--steps" -> steps = number(name, value(tokens, i++), 1, MAX_STEPS);
        case "--fail-at" -> failAt = number(name, value(tokens, i++), 0, MAX_STEPS);
        case "--warmup" -> warmup = number(name, value(tokens, i++), 0, 100_000_000);
        case "--lead-in" -> leadIn = number(name, value(tokens, i++), 0, 3_600);
        case "--timeout" -> timeout = number(name, value(tokens, i++), 1, 86_400);
        case "--participants" -> {
          String value = value(tokens, i++);
          participants =
              switch (value) {
                case "local" -> Participants.LOCAL;
                case "local-nonblocking" -> Participants.LOCAL_NONBLOCKING;
                case "http" -> Participants.HTTP;
                default ->
                    throw new UsageException(
                        "--participants must be local, local-nonblocking or http, was '"
                            + value
                            + "'");
              };
        }
        default ->
            throw new UsageException(
                name.startsWith("-") ? "unknown option " + name : "unexpected argument " + name);
      }
    }
    if (failAt > steps) {
      throw new UsageException(
          "--fail-at " + failAt + " is beyond the last step (--steps " + steps + ")");
    }
    int seconds = 0;
    if (rate > 0) {
      if (sagas != null) {
        throw new UsageException(
            "--sagas is for the closed loop; with --rate the run starts rate × duration sagas");
      }
      seconds = duration == null ? 10 : duration;
      if ((long) rate * seconds > 100_000_000L) {
        throw new UsageException("--rate × --duration must be at most 100000000 sagas");
      }
      if (leadIn != null && (long) rate * leadIn > 100_000_000L) {
        throw new UsageException("--rate × --lead-in must be at most 100000000 sagas");
      }
    } else if (duration != null) {
      throw new UsageException("--duration needs --rate (open loop)");
    } else if (leadIn != null) {
      throw new UsageException(
          "--lead-in needs --rate (open loop); a closed loop's warm-up runs as it is measured");
    }
    return new BenchOptions(
        rate > 0 ? 0 : (sagas == null ? 20_000 : sagas),
        concurrency,
        rate,
        seconds,
        steps,
        participants,
        failAt,
        warmup,
        rate > 0 ? (leadIn == null ? DEFAULT_LEAD_IN_SECONDS : leadIn) : 0,
        timeout,
        json,
        noFsync,
        noAnalyze,
        verbose,
        timeline,
        help);
  }

  private static String value(List<String> tokens, int i) throws UsageException {
    if (i + 1 >= tokens.size() || tokens.get(i + 1).startsWith("--")) {
      throw new UsageException(tokens.get(i) + " needs a value");
    }
    return tokens.get(i + 1);
  }

  private static int number(String name, String value, int min, int max) throws UsageException {
    int n;
    try {
      n = Integer.parseInt(value.replace("_", ""));
    } catch (NumberFormatException e) {
      throw new UsageException(name + " must be a whole number, was '" + value + "'");
    }
    if (n < min || n > max) {
      throw new UsageException(name + " must be between " + min + " and " + max + ", was " + n);
    }
    return n;
  }

  /** One line describing the run, e.g. for the table's header. */
  public String describe() {
    String load =
        openLoop()
            ? "open loop, " + rate + " sagas/s for " + durationSeconds + " s"
            : "closed loop, concurrency " + concurrency;
    return load
        + ", "
        + steps
        + " "
        + participants
        + " step"
        + (steps == 1 ? "" : "s")
        + ", "
        + (failAt == 0 ? "no failure" : "step " + failAt + " rejected")
        + ", "
        + measuredSagas()
        + " sagas (+"
        + warmup
        + " warm-up"
        + (leadInSeconds > 0 ? ", " + leadInSeconds + " s lead-in at the rate" : "")
        + ")";
  }
}
