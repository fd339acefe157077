package io.sagaflow.chaos.run;

import io.sagaflow.chaos.format.LedgerEntry;
import io.sagaflow.orchestrator.history.SagaHistory;
import io.sagaflow.persistence.DatabaseSettings;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.apache.pekko.cluster.sharding.typed.HashCodeMessageExtractor;

/**
 * The run's figures beyond the checks: how soon sagas resumed after each fault (from the journal)
 * and how the participants' call rate behaved around the retry storm (from the ledger).
 */
final class Figures {
  /** How far after a fault the journal is searched for the first resumed saga. */
  private static final long SEARCH_WINDOW_MS = 10 * 60 * 1000;

  /**
   * A call received, or an event written, this soon after a kill or a stop is the victim's own: the
   * fault is logged just before the signal, and no other node can resume its sagas before the
   * failure detector has even noticed (seconds).
   */
  private static final long VICTIM_LAST_CALLS_MS = 1000;

  /** How far before a fault the victim's saga writers are collected. */
  private static final long VICTIM_WRITERS_MS = 2 * 60 * 1000;

  private Figures() {}

  /**
   * The time from a fault to the first saga resumed: for a kill, a stop or a partition, the first
   * journal event written after the fault in one of the shards the victim hosted just before, by a
   * saga incarnation other than those that wrote there in the two minutes before the fault (each
   * incarnation has its own writer id, so the victim's own late writes do not count; a saga started
   * through a cut-off node itself does), and for a kill or a stop not within its first second (a
   * saga the victim had just started writes under a new writer id); for a database restart, the
   * first journal event written after the database started.
   *
   * @param afterMs from the fault's start (its end for a database restart); empty when none found
   * @param sagaId the saga whose event it was
   */
  record Resume(
      int fault, String kind, String node, long fromMs, Optional<Long> afterMs, String sagaId) {}

  static List<Resume> resumes(
      DatabaseSettings db,
      List<FaultInjector.Injected> faults,
      int numberOfShards,
      List<LedgerEntry> ledger) {
    var extractor = new HashCodeMessageExtractor<Object>(numberOfShards);
    String prefix = SagaHistory.persistenceId("x").id();
    String sagaPrefix = prefix.substring(0, prefix.length() - 1);
    var out = new ArrayList<Resume>();
    String sql =
        "select persistence_id, writer, write_timestamp from event_journal"
            + " where persistence_id like ? and write_timestamp >= ? and write_timestamp < ?"
            + " order by write_timestamp, ordering";
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password())) {
      c.setAutoCommit(false); // a cursor: the window may hold many rows
      for (FaultInjector.Injected f : faults) {
        FaultPlan.Kind kind = f.fault().kind();
        if (kind == FaultPlan.Kind.STORM) {
          continue;
        }
        boolean database = kind == FaultPlan.Kind.DB_RESTART;
        Set<String> shards = f.shards();
        if (!database && shards.isEmpty()) {
          out.add(
              new Resume(
                  f.fault().number(), kind.name(), f.node(), f.start(), Optional.empty(), null));
          continue;
        }
        long from = database ? f.end() : f.start();
        // The victim's own saga incarnations (each has its writer id) were writing just before the
        // fault; a write of theirs that lands just after it (or after a SIGCONT) is not a resume.
        Set<String> victimWriters = new HashSet<>();
        if (!database) {
          scan(
              c,
              sql,
              sagaPrefix,
              from - VICTIM_WRITERS_MS,
              from,
              (id, writer, t) -> {
                if (shards.contains(extractor.shardId(id))) {
                  victimWriters.add(writer);
                }
                return false;
              });
        }
        // A write the victim sent just before the signal lands in the journal just after it: a saga
        // it had only just started has a writer not seen before, and is not a resume either.
        boolean victimsLastMoment = kind == FaultPlan.Kind.KILL || kind == FaultPlan.Kind.STOP;
        var found =
            new Object() {
              Long after;
              String saga;
            };
        scan(
            c,
            sql,
            sagaPrefix,
            from,
            from + SEARCH_WINDOW_MS,
            (id, writer, t) -> {
              if (database
                  || (shards.contains(extractor.shardId(id))
                      && !victimWriters.contains(writer)
                      && !(victimsLastMoment && t - from < VICTIM_LAST_CALLS_MS))) {
                found.after = t - from;
                found.saga = id;
                return true;
              }
              return false;
            });
        if (kind == FaultPlan.Kind.KILL || kind == FaultPlan.Kind.STOP) {
          // The victim makes no call after the fault (dead, or frozen and then fenced): the first
          // call for a saga of its shards is a resumed saga's, often before its first write.
          for (LedgerEntry e : ledger) {
            long after = e.received() - from;
            if (after >= VICTIM_LAST_CALLS_MS
                && (found.after == null || after < found.after)
                && shards.contains(extractor.shardId(e.sagaId()))) {
              found.after = after;
              found.saga = e.sagaId();
            }
          }
        }
        out.add(
            new Resume(
                f.fault().number(),
                kind.name(),
                f.node(),
                from,
                Optional.ofNullable(found.after),
                found.saga));
      }
      c.rollback();
    } catch (SQLException e) {
      throw new IllegalStateException("could not read the journal: " + e.getMessage(), e);
    }
    return out;
  }

  /** A journal row: true to stop scanning. */
  private interface Row {
    boolean accept(String sagaId, String writer, long writeTimestamp);
  }

  private static void scan(Connection c, String sql, String sagaPrefix, long from, long to, Row row)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setFetchSize(1000);
      ps.setString(1, sagaPrefix + "%");
      ps.setLong(2, from);
      ps.setLong(3, to);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          if (row.accept(
              rs.getString(1).substring(sagaPrefix.length()), rs.getString(2), rs.getLong(3))) {
            return;
          }
        }
      }
    }
  }

  /**
   * The participants' call rate around the storm, per second, and, after it, the busiest 100 ms
   * against the mean 100 ms of the window (a synchronised retry wave shows as a peak many times the
   * mean; the target is at most 3 times).
   */
  record Storm(
      long startMs,
      long endMs,
      double beforePerSecond,
      double duringPerSecond,
      double afterPerSecond,
      long afterPeak100ms,
      double afterMean100ms,
      double peakToMean,
      long windowMs,
      Wave returning) {
    /** The target, on the returning wave: the peak 100 ms at most 3 times the mean. */
    boolean withinTarget() {
      return returning.peakToMean() <= 3.0;
    }

    /**
     * Whether the wave is large enough for the target to mean anything: with fewer than two
     * returning sagas per 100 ms on average, one bucket of three is already several times the mean
     * however evenly they spread.
     */
    boolean judged() {
      return returning.mean100ms() >= 2.0;
    }
  }

  /**
   * @param storm the storm as injected
   * @param previousEnd when the cluster was whole after the fault before (0 if none)
   * @param nextStart when the next fault started (Long.MAX_VALUE if none)
   */
  static Storm storm(
      List<LedgerEntry> ledger,
      Set<String> startedDuring,
      FaultInjector.Injected storm,
      long previousEnd,
      long nextStart) {
    long start = storm.start();
    long end = storm.end();
    long length = Math.max(1000, end - start);
    long beforeFrom = Math.max(previousEnd, start - length);
    long afterTo = Math.min(nextStart, end + Math.max(length, 10_000));
    long before = 0;
    long during = 0;
    int buckets = (int) Math.max(1, (afterTo - end + 99) / 100);
    long[] after = new long[buckets];
    long afterCount = 0;
    for (LedgerEntry e : ledger) {
      long t = e.received();
      if (t >= beforeFrom && t < start) {
        before++;
      } else if (t >= start && t < end) {
        during++;
      } else if (t >= end && t < afterTo) {
        after[(int) Math.min(buckets - 1, (t - end) / 100)]++;
        afterCount++;
      }
    }
    long peak = 0;
    for (long b : after) {
      peak = Math.max(peak, b);
    }
    double mean = (double) afterCount / buckets;
    Wave wave = returningWave(ledger, startedDuring, end, afterTo);
    return new Storm(
        start,
        end,
        perSecond(before, start - beforeFrom),
        perSecond(during, end - start),
        perSecond(afterCount, afterTo - end),
        peak,
        mean,
        mean == 0 ? 0 : peak / mean,
        afterTo - end,
        wave);
  }

  /**
   * The retry wave after the storm: every saga that was waiting on a participant when the storm
   * ended (it had a call before the storm's end and another after it, or was started during the
   * storm) contributes its first call after the storm, the retry that the backoff's jitter and the
   * breaker's spread place. A saga's later steps follow at once when it succeeds, a burst of its
   * own that says nothing about synchronised retries, so they are left out here (they are in the
   * all-calls figure). Buckets of 100 ms over the wave's window: from its first to its last call,
   * once the earliest and the latest {@link #EDGE_SHARE} of the calls are left out ({@code
   * leftOut}, none below 100 sagas). A lone call far ahead of the others (each node's breaker lets
   * one trial call through as soon as its reset-timeout has passed, seconds before the sagas it
   * turned away are due back) would otherwise stretch the window over empty time and push the mean
   * down. {@code firstBackMs}: how long after the storm's end the very first came back, the
   * breakers' recovery.
   */
  record Wave(
      int sagas, long peak100ms, double mean100ms, long firstBackMs, long spanMs, int leftOut) {
    double peakToMean() {
      return mean100ms == 0 ? 0 : peak100ms / mean100ms;
    }
  }

  /** The share of the returning calls, at either end, left out of the wave's window. */
  static final double EDGE_SHARE = 0.01;

  static Wave returningWave(
      List<LedgerEntry> ledger, Set<String> startedDuring, long end, long afterTo) {
    Set<String> waiting = new HashSet<>(startedDuring);
    for (LedgerEntry e : ledger) {
      if (e.received() < end) {
        waiting.add(e.sagaId());
      }
    }
    var first = new java.util.HashMap<String, Long>();
    for (LedgerEntry e : ledger) {
      if (e.received() >= end && e.received() < afterTo && waiting.contains(e.sagaId())) {
        first.merge(e.sagaId(), e.received(), Math::min);
      }
    }
    return wave(first.values().stream().mapToLong(Long::longValue).sorted().toArray(), end);
  }

  /** The wave of these first calls back ({@code times}, sorted) after a storm that ended at end. */
  static Wave wave(long[] times, long end) {
    if (times.length == 0) {
      return new Wave(0, 0, 0, 0, 0, 0);
    }
    int edge = (int) Math.floor(times.length * EDGE_SHARE);
    long from = times[edge];
    long to = times[times.length - 1 - edge];
    int buckets = (int) ((to - from) / 100) + 1;
    long[] counts = new long[buckets];
    int within = 0;
    for (long t : times) {
      if (t >= from && t <= to) {
        counts[(int) ((t - from) / 100)]++;
        within++;
      }
    }
    long peak = 0;
    for (long c : counts) {
      peak = Math.max(peak, c);
    }
    return new Wave(
        times.length,
        peak,
        (double) within / buckets,
        times[0] - end,
        to - from,
        times.length - within);
  }

  private static double perSecond(long count, long millis) {
    return millis <= 0 ? 0 : count * 1000.0 / millis;
  }
}
