package io.sagaflow.chaos.run;

import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Optional;

/**
 * What one chaos run does: the profile's numbers, refined by command-line options.
 *
 * @param profile {@code short} or {@code long}
 * @param seed every random choice of the run (faults, victims, durations, load) comes from it
 * @param sagas the least number of sagas the load starts before the faults end
 * @param rate sagas started per second; 0 derives it from the fault plan's planned length
 * @param workers load generator threads
 * @param kills kill -9 cycles
 * @param stops SIGSTOP / SIGCONT cycles
 * @param dbRestarts PostgreSQL immediate stops and restarts
 * @param partitions a node cut off from the others, then healed
 * @param storm how long the retry storm lasts (every participant answers 503); zero for none
 * @param gapMin least quiet time before a fault, once the cluster is whole again
 * @param gapMax most quiet time before a fault
 * @param restartDelayMin least time a killed node stays down
 * @param restartDelayMax most time a killed node stays down
 * @param outageMin least time PostgreSQL stays down
 * @param outageMax most time PostgreSQL stays down
 * @param margin added to failure detection + SBR stable-after for a pause or a partition
 * @param cancelShare the share of acknowledged sagas the load cancels at once
 * @param drain how long the drain waits for every acknowledged saga to end
 * @param dir the run directory (created; must not hold an earlier run)
 * @param mix the participant's fault mix, passed on as {@code --mix}; empty for its default
 */
public record RunOptions(
    String profile,
    long seed,
    int sagas,
    double rate,
    int workers,
    int kills,
    int stops,
    int dbRestarts,
    int partitions,
    Duration storm,
    Duration gapMin,
    Duration gapMax,
    Duration restartDelayMin,
    Duration restartDelayMax,
    Duration outageMin,
    Duration outageMax,
    Duration margin,
    double cancelShare,
    Duration drain,
    Path dir,
    Optional<String> mix) {

  public static final String USAGE =
      """
      usage: java -jar sagaflow-chaos.jar run [options]
        --profile short|long   short: ~500 sagas, 2 kills, 1 SIGSTOP, 1 PostgreSQL restart,
                               1 partition, a 15 s storm (CI, under 5 minutes); long: 10,000 sagas, 20 kills,
                               2 SIGSTOPs, 10 PostgreSQL restarts, 3 partitions, a 60 s storm
        --seed S               the seed of every random choice (default: the current time)
        --sagas N              least sagas started before the faults end
        --rate R               sagas per second (default: spread N over the planned faults)
        --workers N            load generator threads
        --kills N --stops N --db-restarts N --partitions N
        --storm-seconds N      0 for no storm
        --mix SPEC             the participant's fault mix (its --mix)
        --dir D                the run directory (default chaos-runs/<profile>-<seed>-<time>)
      """;

  /** The profile's defaults; the seed and directory still to be chosen. */
  static RunOptions profile(String name, long seed) {
    return switch (name) {
      case "short" ->
          new RunOptions(
              name,
              seed,
              500,
              0,
              6,
              2,
              1,
              1,
              1,
              Duration.ofSeconds(15),
              Duration.ofSeconds(3),
              Duration.ofSeconds(8),
              Duration.ofSeconds(2),
              Duration.ofSeconds(4),
              Duration.ofSeconds(3),
              Duration.ofSeconds(8),
              Duration.ofSeconds(3),
              0.03,
              Duration.ofSeconds(120),
              null,
              Optional.empty());
      case "long" ->
          new RunOptions(
              name,
              seed,
              10_000,
              0,
              8,
              20,
              2,
              10,
              3,
              Duration.ofSeconds(60),
              Duration.ofSeconds(30),
              Duration.ofSeconds(60),
              Duration.ofSeconds(3),
              Duration.ofSeconds(10),
              Duration.ofSeconds(5),
              Duration.ofSeconds(30),
              Duration.ofSeconds(5),
              0.03,
              Duration.ofSeconds(600),
              null,
              Optional.empty());
      default ->
          throw new IllegalArgumentException("--profile must be short or long, not '" + name + "'");
    };
  }

  /** Parses {@code run}'s arguments. */
  public static RunOptions parse(String[] args) {
    String profile = "short";
    for (int i = 0; i < args.length - 1; i++) {
      if (args[i].equals("--profile")) {
        profile = args[i + 1];
      }
    }
    RunOptions o = profile(profile, System.currentTimeMillis());
    Path dir = null;
    for (int i = 0; i < args.length; i++) {
      String option = args[i];
      if (option.equals("--help") || option.equals("-h")) {
        throw new IllegalArgumentException(USAGE);
      }
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException(option + " needs a value\n" + USAGE);
      }
      String value = args[++i];
      try {
        o =
            switch (option) {
              case "--profile" -> o;
              case "--seed" -> o.withSeed(Long.parseLong(value));
              case "--sagas" -> o.with(b -> b.sagas = positive(option, value));
              case "--rate" -> o.with(b -> b.rate = Double.parseDouble(value));
              case "--workers" -> o.with(b -> b.workers = positive(option, value));
              case "--kills" -> o.with(b -> b.kills = count(option, value));
              case "--stops" -> o.with(b -> b.stops = count(option, value));
              case "--db-restarts" -> o.with(b -> b.dbRestarts = count(option, value));
              case "--partitions" -> o.with(b -> b.partitions = count(option, value));
              case "--storm-seconds" ->
                  o.with(b -> b.storm = Duration.ofSeconds(count(option, value)));
              case "--mix" -> o.with(b -> b.mix = Optional.of(value));
              case "--dir" -> {
                dir = Path.of(value);
                yield o;
              }
              default -> throw new IllegalArgumentException("unknown option " + option);
            };
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(option + ": not a number: " + value);
      }
    }
    return o.withDir(dir != null ? dir : defaultDir(o));
  }

  private static Path defaultDir(RunOptions o) {
    String time = LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"));
    return Path.of("chaos-runs", o.profile + "-" + o.seed + "-" + time);
  }

  private static int positive(String option, String value) {
    int n = Integer.parseInt(value);
    if (n <= 0) {
      throw new IllegalArgumentException(option + " must be positive: " + value);
    }
    return n;
  }

  private static int count(String option, String value) {
    int n = Integer.parseInt(value);
    if (n < 0) {
      throw new IllegalArgumentException(option + " must not be negative: " + value);
    }
    return n;
  }

  public RunOptions withSeed(long newSeed) {
    return with(b -> b.seed = newSeed);
  }

  public RunOptions withDir(Path newDir) {
    return with(b -> b.dir = newDir);
  }

  /** A copy with some fields changed. */
  RunOptions with(java.util.function.Consumer<Builder> change) {
    Builder b = new Builder(this);
    change.accept(b);
    return b.build();
  }

  /** The mutable twin of the record, for {@link #with}. */
  static final class Builder {
    String profile;
    long seed;
    int sagas;
    double rate;
    int workers;
    int kills;
    int stops;
    int dbRestarts;
    int partitions;
    Duration storm;
    Duration gapMin;
    Duration gapMax;
    Duration restartDelayMin;
    Duration restartDelayMax;
    Duration outageMin;
    Duration outageMax;
    Duration margin;
    double cancelShare;
    Duration drain;
    Path dir;
    Optional<String> mix;

    Builder(RunOptions o) {
      profile = o.profile;
      seed = o.seed;
      sagas = o.sagas;
      rate = o.rate;
      workers = o.workers;
      kills = o.kills;
      stops = o.stops;
      dbRestarts = o.dbRestarts;
      partitions = o.partitions;
      storm = o.storm;
      gapMin = o.gapMin;
      gapMax = o.gapMax;
      restartDelayMin = o.restartDelayMin;
      restartDelayMax = o.restartDelayMax;
      outageMin = o.outageMin;
      outageMax = o.outageMax;
      margin = o.margin;
      cancelShare = o.cancelShare;
      drain = o.drain;
      dir = o.dir;
      mix = o.mix;
    }

    RunOptions build() {
      return new RunOptions(
          profile,
          seed,
          sagas,
          rate,
          workers,
          kills,
          stops,
          dbRestarts,
          partitions,
          storm,
          gapMin,
          gapMax,
          restartDelayMin,
          restartDelayMax,
          outageMin,
          outageMax,
          margin,
          cancelShare,
          drain,
          dir,
          mix);
    }
  }
}
