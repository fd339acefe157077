package io.sagaflow.chaos.run;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;

/**
 * The run's faults, in order, drawn from its seed: which fault, which node, how long it lasts and
 * how long the run waits before it (counted from the moment the cluster is whole again after the
 * previous one). The same seed and options give the same plan.
 */
record FaultPlan(List<Fault> faults, Timings timings) {

  enum Kind {
    KILL,
    STOP,
    DB_RESTART,
    PARTITION,
    STORM
  }

  /**
   * One fault.
   *
   * @param node the victim's index (0..2) for a kill, a stop or a partition; -1 otherwise
   * @param length how long the node stays down, paused or cut off, the database down, the storm
   */
  record Fault(int number, Kind kind, int node, Duration gapBefore, Duration length) {
    String describe() {
      String who = node >= 0 ? " node" + (node + 1) : "";
      return "#" + number + " " + kind + who + " for " + length.toMillis() + " ms";
    }
  }

  /**
   * The cluster's own timings, read from the configuration the nodes run with, that the plan's
   * pauses and partitions must outlast: a node paused or cut off for less than failure detection
   * plus the Split Brain Resolver's stable-after would never be downed.
   */
  record Timings(Duration acceptableHeartbeatPause, Duration stableAfter, Duration margin) {
    static Timings from(Config nodeConfig, Duration margin) {
      return new Timings(
          nodeConfig.getDuration("pekko.cluster.failure-detector.acceptable-heartbeat-pause"),
          nodeConfig.getDuration("pekko.cluster.split-brain-resolver.stable-after"),
          margin);
    }

    /** How long a pause or a partition lasts: past the failure detector and stable-after. */
    Duration pastDowning() {
      return acceptableHeartbeatPause.plus(stableAfter).plus(margin);
    }
  }

  static FaultPlan draw(RunOptions o, Timings timings, int nodes) {
    var random = new Random(o.seed());
    var kinds = new ArrayList<Kind>();
    add(kinds, Kind.KILL, o.kills());
    add(kinds, Kind.STOP, o.stops());
    add(kinds, Kind.DB_RESTART, o.dbRestarts());
    add(kinds, Kind.PARTITION, o.partitions());
    if (!o.storm().isZero()) {
      kinds.add(Kind.STORM);
    }
    Collections.shuffle(kinds, random);
    var faults = new ArrayList<Fault>();
    for (Kind kind : kinds) {
      Duration gap = between(random, o.gapMin(), o.gapMax());
      int node = -1;
      Duration length;
      switch (kind) {
        case KILL -> {
          node = random.nextInt(nodes);
          length = between(random, o.restartDelayMin(), o.restartDelayMax());
        }
        case STOP, PARTITION -> {
          node = random.nextInt(nodes);
          length = timings.pastDowning();
        }
        case DB_RESTART -> length = between(random, o.outageMin(), o.outageMax());
        case STORM -> length = o.storm();
        default -> throw new IllegalStateException(kind.toString());
      }
      faults.add(new Fault(faults.size() + 1, kind, node, gap, length));
    }
    return new FaultPlan(List.copyOf(faults), timings);
  }

  /**
   * The plan's length with a guess of each fault's recovery (a node JVM restarting and rejoining),
   * to spread the load's sagas over it.
   */
  Duration plannedLength(Duration nodeRecovery) {
    Duration total = Duration.ZERO;
    for (Fault f : faults) {
      total = total.plus(f.gapBefore()).plus(f.length());
      if (f.kind() != Kind.STORM && f.kind() != Kind.DB_RESTART) {
        total = total.plus(nodeRecovery);
      }
    }
    return total;
  }

  private static void add(List<Kind> kinds, Kind kind, int n) {
    for (int i = 0; i < n; i++) {
      kinds.add(kind);
    }
  }

  private static Duration between(Random random, Duration min, Duration max) {
    long span = Math.max(0, max.toMillis() - min.toMillis());
    return min.plusMillis(span == 0 ? 0 : (long) (random.nextDouble() * span));
  }
}
