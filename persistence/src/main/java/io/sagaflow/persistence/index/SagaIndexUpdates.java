package io.sagaflow.persistence.index;

import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaEvent.SagaStarted;
import io.sagaflow.orchestrator.history.SagaHistory;
import io.sagaflow.orchestrator.history.StatusChange;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Applies one saga event to its {@code saga_index} row, inside the caller's transaction.
 *
 * <p>Every write is guarded by the event's sequence number ({@code seq_nr < ?}): an event the row
 * has already seen, delivered again after a crash or a replay from an older offset, changes
 * nothing, and a row never goes back to an older status. Events of one saga carry one tag, so they
 * arrive in order.
 */
final class SagaIndexUpdates {

  private static final Logger log = LoggerFactory.getLogger(SagaIndexUpdates.class);

  // Times are bound as microseconds since the epoch (what PostgreSQL stores): exact, and much
  // cheaper to bind than a java.time value, which the driver formats through a Calendar.
  private static final String MICROS = "(TIMESTAMPTZ 'epoch' + ? * INTERVAL '1 microsecond')";

  private static final String INSERT_STARTED =
      "INSERT INTO saga_index"
          + " (saga_id, type, version, status, created_at, updated_at, seq_nr, deadline)"
          + " VALUES (?, ?, ?, 'RUNNING', "
          + MICROS
          + ", "
          + MICROS
          + ", ?, "
          + MICROS
          + ")"
          + " ON CONFLICT (saga_id) DO NOTHING";

  // A saga that started and ended within one group of events: one row write instead of two. A
  // row already there (the group is replayed) takes the end unless it has seen it.
  private static final String INSERT_ENDED =
      "INSERT INTO saga_index"
          + " (saga_id, type, version, status, failure, created_at, updated_at, seq_nr, deadline)"
          + " VALUES (?, ?, ?, ?, ?, "
          + MICROS
          + ", "
          + MICROS
          + ", ?, "
          + MICROS
          + ")"
          + " ON CONFLICT (saga_id) DO UPDATE SET status = EXCLUDED.status,"
          + " failure = COALESCE(EXCLUDED.failure, saga_index.failure),"
          + " status_before_failure = NULL, updated_at = EXCLUDED.updated_at,"
          + " seq_nr = EXCLUDED.seq_nr"
          + " WHERE saga_index.seq_nr < EXCLUDED.seq_nr";

  // failure: the event's reason, or the row's when the event has none (as SagaSnapshot keeps it).
  private static final String UPDATE_STATUS =
      "UPDATE saga_index SET status = ?, failure = COALESCE(?, failure),"
          + " status_before_failure = NULL, updated_at = "
          + MICROS
          + ", seq_nr = ?"
          + " WHERE saga_id = ? AND seq_nr < ?";

  // Remembers what a resume returns to (StatusChange.ToFailed.resumesFrom): the given status, or
  // else the row's status before this.
  private static final String UPDATE_FAILED =
      "UPDATE saga_index SET status = 'FAILED', failure = ?,"
          + " status_before_failure = COALESCE(?,"
          + " CASE WHEN status = 'FAILED' THEN status_before_failure ELSE status END),"
          + " updated_at = "
          + MICROS
          + ", seq_nr = ?"
          + " WHERE saga_id = ? AND seq_nr < ?";

  // StatusChange.Resumed. A FAILED row always has status_before_failure; COMPENSATING only covers a
  // row that lost it.
  private static final String UPDATE_RESUMED =
      "UPDATE saga_index SET status = CASE WHEN status = 'FAILED'"
          + " THEN COALESCE(status_before_failure, 'COMPENSATING') ELSE status END,"
          + " status_before_failure = NULL, updated_at = "
          + MICROS
          + ", seq_nr = ?"
          + " WHERE saga_id = ? AND seq_nr < ?";

  private static final String ROW_SEQ_NR = "SELECT seq_nr FROM saga_index WHERE saga_id = ?";

  private SagaIndexUpdates() {}

  /** One event of a group, as the projection hands it over. */
  record Change(String persistenceId, long seqNr, Object event) {}

  /**
   * Applies a group of events in journal order, as {@link #apply} would one by one, with one
   * shortcut: a saga whose {@code SagaStarted} is followed in the group by status changes of its
   * own (under load most sagas start and end within one group) gets one row write for all of them,
   * ending in the same row. Those row writes go to the database together, as one JDBC batch (one
   * round trip instead of one per saga); rows of different sagas are independent, and a saga's
   * batched row is written before any later event of that saga is applied.
   */
  static void applyAll(Connection c, List<Change> changes) throws SQLException {
    try (StartedAndEnded batch = new StartedAndEnded(c)) {
      applyAll(c, changes, batch);
      batch.flush();
    }
  }

  private static void applyAll(Connection c, List<Change> changes, StartedAndEnded batch)
      throws SQLException {
    int n = changes.size();
    int[] next = new int[n]; // the index of the same entity's next event in the group, or -1
    Map<String, Integer> later = new HashMap<>();
    for (int i = n - 1; i >= 0; i--) {
      Integer after = later.put(changes.get(i).persistenceId(), i);
      next[i] = after == null ? -1 : after;
    }
    boolean[] applied = new boolean[n];
    for (int i = 0; i < n; i++) {
      if (applied[i]) {
        continue;
      }
      Change change = changes.get(i);
      Optional<String> sagaId = SagaHistory.sagaId(change.persistenceId());
      if (change.event() instanceof SagaStarted started && sagaId.isPresent()) {
        StatusChange.To end = null;
        Instant endedAt = null;
        long lastSeqNr = change.seqNr();
        String failure = null;
        for (int j = next[i]; j >= 0; j = next[j]) {
          if (!(changes.get(j).event() instanceof SagaEvent following
              && following.statusChange() instanceof StatusChange.To to)) {
            break;
          }
          applied[j] = true;
          lastSeqNr = changes.get(j).seqNr();
          end = to;
          endedAt = following.at();
          failure = to.failure() != null ? to.failure() : failure;
        }
        if (end != null) {
          batch.add(sagaId.get(), started, lastSeqNr, end.status(), failure, endedAt);
          continue;
        }
      }
      if (sagaId.isPresent() && batch.holds(sagaId.get())) {
        batch.flush(); // this event needs the saga's row as the batched write leaves it
      }
      apply(c, change.persistenceId(), change.seqNr(), change.event());
    }
  }

  /**
   * Applies {@code event}, the {@code seqNr}-th event of {@code persistenceId}. Events of other
   * entities, events that do not change a saga's status and events this version does not know
   * (written by a newer one) are skipped.
   */
  static void apply(Connection c, String persistenceId, long seqNr, Object event)
      throws SQLException {
    Optional<String> saga = SagaHistory.sagaId(persistenceId);
    if (saga.isEmpty()) {
      log.debug("Ignoring an event of {}: not a saga", persistenceId);
      return;
    }
    String sagaId = saga.get();
    try (MDC.MDCCloseable ignored = MDC.putCloseable("sagaId", sagaId)) {
      if (!(event instanceof SagaEvent e)) {
        log.debug("Ignoring {} #{}: not an event the saga index knows", name(event), seqNr);
      } else if (e instanceof SagaStarted started) {
        started(c, sagaId, seqNr, started);
      } else if (e.statusChange() instanceof StatusChange.To to) {
        status(c, sagaId, seqNr, to.status(), to.failure(), e.at());
      } else if (e.statusChange() instanceof StatusChange.ToFailed failed) {
        failed(c, sagaId, seqNr, failed.resumesTo(), failed.reason(), e.at());
      } else if (e.statusChange() instanceof StatusChange.Resumed) {
        resumed(c, sagaId, seqNr, e.at());
      } else {
        log.debug("Ignoring {} #{}: it does not change the status", name(event), seqNr);
      }
    }
  }

  private static void started(Connection c, String sagaId, long seqNr, SagaStarted e)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(INSERT_STARTED)) {
      ps.setString(1, sagaId);
      ps.setString(2, e.type());
      ps.setInt(3, e.version());
      ps.setLong(4, micros(e.at()));
      ps.setLong(5, micros(e.at()));
      ps.setLong(6, seqNr);
      setMicros(ps, 7, e.deadline());
      if (ps.executeUpdate() == 0) {
        log.debug("SagaStarted #{} already applied", seqNr);
      }
    }
  }

  /** The {@code INSERT_ENDED} row writes of a group, sent together. */
  private static final class StartedAndEnded implements AutoCloseable {
    /** A row in the batch, for the log when its write changed nothing. */
    private record Pending(String sagaId, long seqNr) {}

    private final Connection c;
    private final List<Pending> pending = new ArrayList<>();
    private final Set<String> held = new HashSet<>();
    private PreparedStatement insert;

    StartedAndEnded(Connection c) {
      this.c = c;
    }

    boolean holds(String sagaId) {
      return held.contains(sagaId);
    }

    void add(
        String sagaId,
        SagaStarted started,
        long seqNr,
        SagaStatus status,
        String failure,
        Instant at)
        throws SQLException {
      if (insert == null) {
        insert = c.prepareStatement(INSERT_ENDED);
      }
      insert.setString(1, sagaId);
      insert.setString(2, started.type());
      insert.setInt(3, started.version());
      insert.setString(4, status.name());
      insert.setString(5, failure);
      insert.setLong(6, micros(started.at()));
      insert.setLong(7, micros(at));
      insert.setLong(8, seqNr);
      setMicros(insert, 9, started.deadline());
      insert.addBatch();
      pending.add(new Pending(sagaId, seqNr));
      held.add(sagaId);
    }

    void flush() throws SQLException {
      if (pending.isEmpty()) {
        return;
      }
      int[] counts = insert.executeBatch();
      for (int i = 0; i < counts.length; i++) {
        if (counts[i] == 0) {
          try (MDC.MDCCloseable ignored = MDC.putCloseable("sagaId", pending.get(i).sagaId())) {
            log.debug("Events up to #{} already applied", pending.get(i).seqNr());
          }
        }
      }
      pending.clear();
      held.clear();
    }

    @Override
    public void close() throws SQLException {
      if (insert != null) {
        insert.close();
      }
    }
  }

  private static void status(
      Connection c, String sagaId, long seqNr, SagaStatus status, String failure, Instant at)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(UPDATE_STATUS)) {
      ps.setString(1, status.name());
      ps.setString(2, failure);
      ps.setLong(3, micros(at));
      ps.setLong(4, seqNr);
      ps.setString(5, sagaId);
      ps.setLong(6, seqNr);
      checkUpdated(c, ps.executeUpdate(), sagaId, seqNr);
    }
  }

  private static void failed(
      Connection c, String sagaId, long seqNr, SagaStatus resumesTo, String failure, Instant at)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(UPDATE_FAILED)) {
      ps.setString(1, failure);
      if (resumesTo == null) {
        ps.setNull(2, Types.VARCHAR);
      } else {
        ps.setString(2, resumesTo.name());
      }
      ps.setLong(3, micros(at));
      ps.setLong(4, seqNr);
      ps.setString(5, sagaId);
      ps.setLong(6, seqNr);
      checkUpdated(c, ps.executeUpdate(), sagaId, seqNr);
    }
  }

  private static void resumed(Connection c, String sagaId, long seqNr, Instant at)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(UPDATE_RESUMED)) {
      ps.setLong(1, micros(at));
      ps.setLong(2, seqNr);
      ps.setString(3, sagaId);
      ps.setLong(4, seqNr);
      checkUpdated(c, ps.executeUpdate(), sagaId, seqNr);
    }
  }

  /** Nothing updated: a replay (fine), or a row that is missing (worth a warning). */
  private static void checkUpdated(Connection c, int updated, String sagaId, long seqNr)
      throws SQLException {
    if (updated > 0) {
      return;
    }
    try (PreparedStatement ps = c.prepareStatement(ROW_SEQ_NR)) {
      ps.setString(1, sagaId);
      try (ResultSet rs = ps.executeQuery()) {
        if (rs.next()) {
          log.debug("Event #{} already applied (row at #{})", seqNr, rs.getLong(1));
        } else {
          log.warn(
              "saga_index has no row for saga {}: event #{} skipped. Empty the table and restart"
                  + " a node to rebuild the index from the journal.",
              sagaId,
              seqNr);
        }
      }
    }
  }

  /** Microseconds since the epoch, truncated as PostgreSQL would store them. */
  static long micros(Instant at) {
    return ChronoUnit.MICROS.between(Instant.EPOCH, at);
  }

  /** Binds {@code at} as {@link #MICROS} expects it, or SQL NULL (which makes the time NULL). */
  private static void setMicros(PreparedStatement ps, int index, Instant at) throws SQLException {
    if (at == null) {
      ps.setNull(index, Types.BIGINT);
    } else {
      ps.setLong(index, micros(at));
    }
  }

  /** PostgreSQL keeps microseconds; truncating here makes the stored value predictable. */
  static OffsetDateTime timestamp(Instant at) {
    return OffsetDateTime.ofInstant(at.truncatedTo(ChronoUnit.MICROS), ZoneOffset.UTC);
  }

  private static String name(Object event) {
    return event == null ? "null" : event.getClass().getName();
  }
}
