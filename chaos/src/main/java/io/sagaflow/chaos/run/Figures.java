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

  /** How far before a fault the victim's saga writers are collected. */
  private static final long VICTIM_WRITERS_MS = 2 * 60 * 1000;

  private Figures() {}

  /**
   * The time from a fault to the first saga resumed: for a kill, a stop or a partition, the first
   * journal event written after the fault in one of the shards the victim hosted just before, by a
   * saga incarnation other than those that wrote there in the two minutes before the fault (each
   * incarnation has its own writer id, so the victim's own late writes do not count; a saga started
   * through a cut-off node itself does); for a database restart, the first journal event written
   * after the database started.
   *
   * @param afterMs from the fault's start (its end for a database restart); empty when none found
   * @param sagaId the saga whose event it was
   */
  record Resume(
      int fault, String kind, String node, long fromMs, Optional<Long> afterMs, String sagaId) {}

  static List<Resume> resumes(
      DatabaseSettings db, List<FaultInjector.Injected> faults, int numberOfShards) {
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
                  || (shards.contains(extractor.shardId(id)) && !victimWriters.contains(writer))) {
                found.after = t - from;
                found.saga = id;
                return true;
              }
              return false;
            });
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
      long windowMs) {
    boolean withinTarget() {
      return peakToMean <= 3.0;
    }
  }

  /**
   * @param storm the storm as injected
   * @param previousEnd when the cluster was whole after the fault before (0 if none)
   * @param nextStart when the next fault started (Long.MAX_VALUE if none)
   */
  static Storm storm(
      List<LedgerEntry> ledger, FaultInjector.Injected storm, long previousEnd, long nextStart) {
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
    return new Storm(
        start,
        end,
        perSecond(before, start - beforeFrom),
        perSecond(during, end - start),
        perSecond(afterCount, afterTo - end),
        peak,
        mean,
        mean == 0 ? 0 : peak / mean,
        afterTo - end);
  }

  private static double perSecond(long count, long millis) {
    return millis <= 0 ? 0 : count * 1000.0 / millis;
  }
}
