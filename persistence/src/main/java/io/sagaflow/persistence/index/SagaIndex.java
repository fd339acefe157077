package io.sagaflow.persistence.index;

import com.zaxxer.hikari.HikariDataSource;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.history.SagaHistory;
import io.sagaflow.persistence.DatabaseSettings;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Reads the saga index: listing newest first with cursor paging, single lookups, and the
 * non-terminal sagas for the recovery sweep. Plain JDBC, usable without an actor system; the index
 * lags the journal by the projection's polling (well under a second when healthy).
 */
public final class SagaIndex implements AutoCloseable {

  /** The largest page {@link #list} and {@link #nonTerminal} return. */
  public static final int MAX_LIMIT = 500;

  private static final String COLUMNS =
      "saga_id, type, version, status, created_at, updated_at, failure";

  /**
   * One saga as the index knows it. {@code updatedAt} is when its status last changed; {@code
   * failure} says why it compensates or failed, null when nothing went wrong (as in {@code
   * SagaView}).
   */
  public record Row(
      String sagaId,
      String type,
      int version,
      SagaStatus status,
      Instant createdAt,
      Instant updatedAt,
      String failure) {

    public Row {
      Objects.requireNonNull(sagaId, "sagaId");
      Objects.requireNonNull(type, "type");
      Objects.requireNonNull(status, "status");
      Objects.requireNonNull(createdAt, "createdAt");
      Objects.requireNonNull(updatedAt, "updatedAt");
    }
  }

  /** One page of a listing; {@code nextCursor} is absent on the last page. */
  public record Page(List<Row> items, Optional<String> nextCursor) {
    public Page {
      items = List.copyOf(items);
      Objects.requireNonNull(nextCursor, "nextCursor");
    }
  }

  private final DataSource dataSource;
  private final HikariDataSource ownedPool;

  /** An index reading through {@code dataSource}, which the caller keeps and closes. */
  public SagaIndex(DataSource dataSource) {
    this(Objects.requireNonNull(dataSource, "dataSource"), null);
  }

  private SagaIndex(DataSource dataSource, HikariDataSource ownedPool) {
    this.dataSource = dataSource;
    this.ownedPool = ownedPool;
  }

  /**
   * An index with its own pool of {@code sagaflow.index.read-connections} read-only connections,
   * closed by {@link #close()}.
   */
  public static SagaIndex connect(DatabaseSettings db, SagaIndexSettings settings) {
    HikariDataSource pool = IndexPools.forReads(db, settings);
    return new SagaIndex(pool, pool);
  }

  /**
   * Sagas newest first (by creation time, then saga id, both descending), optionally of one type
   * and/or in one status.
   *
   * @param limit page size, 1 to {@value #MAX_LIMIT}
   * @param cursor the {@link Page#nextCursor()} of the previous page; empty for the first page
   * @throws IllegalArgumentException for a limit out of range, or {@code "invalid cursor"} for a
   *     cursor this class did not produce
   * @throws IndexUnavailableException when the database cannot answer
   */
  public Page list(
      Optional<String> type, Optional<SagaStatus> status, int limit, Optional<String> cursor) {
    return list(Filter.ALL.type(type).status(status), limit, cursor);
  }

  /**
   * What a listing keeps; each empty part is no condition. {@code overdueAt}: only the sagas still
   * {@code RUNNING} or {@code COMPENSATING} whose deadline is before that time. {@code waitingFor}:
   * only the sagas {@code RUNNING} and waiting for that signal ({@link #ANY_SIGNAL}: for any).
   */
  public record Filter(
      Optional<String> type,
      Optional<SagaStatus> status,
      Optional<Instant> createdAfter,
      Optional<Instant> createdBefore,
      Optional<Instant> overdueAt,
      Optional<String> waitingFor) {

    /** The {@code waitingFor} that keeps the sagas waiting for any signal. */
    public static final String ANY_SIGNAL = "*";

    /** Every saga. */
    public static final Filter ALL =
        new Filter(
            Optional.empty(),
            Optional.empty(),
            Optional.empty(),
            Optional.empty(),
            Optional.empty(),
            Optional.empty());

    public Filter type(Optional<String> value) {
      return new Filter(value, status, createdAfter, createdBefore, overdueAt, waitingFor);
    }

    public Filter status(Optional<SagaStatus> value) {
      return new Filter(type, value, createdAfter, createdBefore, overdueAt, waitingFor);
    }

    /** Only sagas created at or after {@code value}. */
    public Filter createdAfter(Optional<Instant> value) {
      return new Filter(type, status, value, createdBefore, overdueAt, waitingFor);
    }

    /** Only sagas created before {@code value}. */
    public Filter createdBefore(Optional<Instant> value) {
      return new Filter(type, status, createdAfter, value, overdueAt, waitingFor);
    }

    public Filter overdueAt(Optional<Instant> value) {
      return new Filter(type, status, createdAfter, createdBefore, value, waitingFor);
    }

    /** Only sagas waiting for signal {@code value}, or for any with {@link #ANY_SIGNAL}. */
    public Filter waitingFor(Optional<String> value) {
      return new Filter(type, status, createdAfter, createdBefore, overdueAt, value);
    }

    private boolean waitingForOne() {
      return waitingFor.isPresent() && !waitingFor.get().equals(ANY_SIGNAL);
    }
  }

  /**
   * A page of the sagas {@code filter} keeps, newest first.
   *
   * @param limit page size, 1 to {@value #MAX_LIMIT}
   * @param cursor the {@link Page#nextCursor()} of the previous page (of the same filter); empty
   *     for the first page
   * @throws IllegalArgumentException for a limit out of range, or {@code "invalid cursor"} for a
   *     cursor this class did not produce
   * @throws IndexUnavailableException when the database cannot answer
   */
  public Page list(Filter filter, int limit, Optional<String> cursor) {
    checkLimit(limit);
    Optional<PageCursor> after = cursor.map(PageCursor::decode);
    Optional<String> type = filter.type();
    Optional<SagaStatus> status = filter.status();
    if (type.isPresent() && type.get().indexOf('\0') >= 0
        || filter.waitingFor().isPresent() && filter.waitingFor().get().indexOf('\0') >= 0) {
      // PostgreSQL text cannot hold NUL: no saga has such a type.
      return new Page(List.of(), Optional.empty());
    }
    String sql = listSql(filter, after.isPresent());
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      int i = 0;
      if (type.isPresent()) {
        ps.setString(++i, type.get());
      }
      if (status.isPresent()) {
        ps.setString(++i, status.get().name());
      }
      if (filter.createdAfter().isPresent()) {
        ps.setObject(++i, SagaIndexUpdates.timestamp(filter.createdAfter().get()));
      }
      if (filter.createdBefore().isPresent()) {
        ps.setObject(++i, SagaIndexUpdates.timestamp(filter.createdBefore().get()));
      }
      if (filter.overdueAt().isPresent()) {
        ps.setObject(++i, SagaIndexUpdates.timestamp(filter.overdueAt().get()));
      }
      if (filter.waitingForOne()) {
        ps.setString(++i, filter.waitingFor().get());
      }
      if (after.isPresent()) {
        ps.setObject(++i, SagaIndexUpdates.timestamp(after.get().createdAt()));
        ps.setString(++i, after.get().sagaId());
      }
      // One more than asked: tells whether another page follows without a count.
      ps.setInt(++i, limit + 1);
      List<Row> rows = rows(ps);
      if (rows.size() <= limit) {
        return new Page(rows, Optional.empty());
      }
      List<Row> items = rows.subList(0, limit);
      Row last = items.get(limit - 1);
      return new Page(
          items, Optional.of(PageCursor.after(last.createdAt(), last.sagaId()).encode()));
    } catch (SQLException e) {
      throw new IndexUnavailableException("Could not list sagas", e);
    }
  }

  /**
   * Ids of sagas that are running or compensating, whose status last changed before {@code
   * changedBefore} and that are not durably waiting, in id order, after {@code afterSagaId}: the
   * recovery sweep pages with the last id of the previous call, and leaves out the sagas that have
   * changed since it began (they are alive; should their node be lost later, the sweep its removal
   * starts finds them). A saga is durably waiting when it has a durable timer ({@code saga_timer})
   * and has written nothing to the journal since: its timer wakes it, wherever it is then.
   *
   * @param limit page size, 1 to {@value #MAX_LIMIT}
   * @throws IndexUnavailableException when the database cannot answer
   */
  public List<String> nonTerminal(int limit, Optional<String> afterSagaId, Instant changedBefore) {
    checkLimit(limit);
    String sql = nonTerminalSql(afterSagaId.isPresent());
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      int i = 0;
      ps.setObject(++i, SagaIndexUpdates.timestamp(changedBefore));
      if (afterSagaId.isPresent()) {
        ps.setString(++i, afterSagaId.get());
      }
      ps.setInt(++i, limit);
      try (ResultSet rs = ps.executeQuery()) {
        var ids = new ArrayList<String>(limit);
        while (rs.next()) {
          ids.add(rs.getString(1));
        }
        return List.copyOf(ids);
      }
    } catch (SQLException e) {
      throw new IndexUnavailableException("Could not read the non-terminal sagas", e);
    }
  }

  /**
   * The index row of one saga; empty when the index does not (yet) know it.
   *
   * @throws IndexUnavailableException when the database cannot answer
   */
  public Optional<Row> find(String sagaId) {
    Objects.requireNonNull(sagaId, "sagaId");
    if (sagaId.indexOf('\0') >= 0) {
      return Optional.empty();
    }
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps =
            c.prepareStatement("SELECT " + COLUMNS + " FROM saga_index WHERE saga_id = ?")) {
      ps.setString(1, sagaId);
      return rows(ps).stream().findFirst();
    } catch (SQLException e) {
      throw new IndexUnavailableException("Could not read saga " + sagaId, e);
    }
  }

  /**
   * Where the journal stands now, per index tag: the position of the newest event of each tag. The
   * index is at least as fresh as the journal was at this moment once {@link #hasApplied} says so.
   *
   * @throws IndexUnavailableException when the database cannot answer
   */
  public Map<String, Long> journalHead() {
    var head = new HashMap<String, Long>();
    // One index probe per tag (event_tag(tag, event_id)), not a scan of the journal.
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps =
            c.prepareStatement("SELECT max(event_id) FROM event_tag WHERE tag = ?")) {
      for (String tag : SagaHistory.INDEX_TAGS) {
        ps.setString(1, tag);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          long newest = rs.getLong(1);
          if (!rs.wasNull()) {
            head.put(tag, newest);
          }
        }
      }
      return Map.copyOf(head);
    } catch (SQLException e) {
      throw new IndexUnavailableException("Could not read the journal's newest positions", e);
    }
  }

  /**
   * Whether the index projection has applied every event up to {@code head} (from {@link
   * #journalHead}), reading its offsets from {@code offsetTable} (see {@link
   * SagaIndexProjection#offsetTable}).
   *
   * @throws IndexUnavailableException when the database cannot answer
   */
  public boolean hasApplied(Map<String, Long> head, String offsetTable) {
    if (head.isEmpty()) {
      return true;
    }
    var applied = new HashMap<String, Long>();
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT projection_key, current_offset FROM "
                    + offsetTable
                    + " WHERE projection_name = ?")) {
      ps.setString(1, SagaIndexProjection.PROJECTION_NAME);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          applied.put(rs.getString(1), Long.parseLong(rs.getString(2)));
        }
      }
    } catch (SQLException | NumberFormatException e) {
      throw new IndexUnavailableException("Could not read the index projection's offsets", e);
    }
    return head.entrySet().stream()
        .allMatch(tag -> applied.getOrDefault(tag.getKey(), -1L) >= tag.getValue());
  }

  /**
   * How many sagas of one type are in one unfinished status, and when the oldest of them started.
   */
  public record Unfinished(String type, SagaStatus status, long count, Instant oldestCreatedAt) {}

  /**
   * The sagas that are running, compensating or {@code FAILED}, counted per type and status, in one
   * grouped query: what the node's gauges of unfinished sagas show.
   *
   * @throws IndexUnavailableException when the database cannot answer
   */
  public List<Unfinished> unfinished() {
    String sql =
        "SELECT type, status, count(*), min(created_at) FROM saga_index"
            + " WHERE status IN ('RUNNING', 'COMPENSATING', 'FAILED') GROUP BY type, status";
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(sql);
        ResultSet rs = ps.executeQuery()) {
      var unfinished = new ArrayList<Unfinished>();
      while (rs.next()) {
        unfinished.add(
            new Unfinished(
                rs.getString(1),
                SagaStatus.valueOf(rs.getString(2)),
                rs.getLong(3),
                rs.getObject(4, OffsetDateTime.class).toInstant()));
      }
      return List.copyOf(unfinished);
    } catch (SQLException e) {
      throw new IndexUnavailableException("Could not count the unfinished sagas", e);
    }
  }

  /**
   * How many journal rows the index has yet to apply: the rows filed under an index tag (the events
   * that change a saga's status, the only ones it reads) past the offset the projection stored for
   * that tag. One query, an index range count per tag ({@code event_tag(tag, event_id)}), so it
   * costs what the lag is, not what the journal holds.
   *
   * @param offsetTable the projection's offset table, see {@link SagaIndexProjection#offsetTable}
   * @throws IndexUnavailableException when the database cannot answer
   */
  public long unappliedEvents(String offsetTable) {
    try (Connection c = dataSource.getConnection();
        PreparedStatement ps = c.prepareStatement(unappliedSql(offsetTable))) {
      Array tags = c.createArrayOf("text", SagaHistory.INDEX_TAGS.toArray());
      try {
        ps.setArray(1, tags);
        ps.setString(2, SagaIndexProjection.PROJECTION_NAME);
        try (ResultSet rs = ps.executeQuery()) {
          rs.next();
          return rs.getLong(1);
        }
      } finally {
        tags.free();
      }
    } catch (SQLException e) {
      throw new IndexUnavailableException("Could not read how far the index lags the journal", e);
    }
  }

  /** Closes the pool {@link #connect} opened; does nothing for a caller's data source. */
  @Override
  public void close() {
    if (ownedPool != null) {
      ownedPool.close();
    }
  }

  /** Parameters in this order: the index tags (a text array), the projection's name. */
  static String unappliedSql(String offsetTable) {
    return "SELECT coalesce(sum(behind.n), 0) FROM unnest(?) AS t(tag) CROSS JOIN LATERAL ("
        + "SELECT count(*) AS n FROM event_tag e WHERE e.tag = t.tag AND e.event_id >"
        + " coalesce((SELECT CAST(o.current_offset AS BIGINT) FROM "
        + offsetTable
        + " o WHERE o.projection_name = ? AND o.projection_key = t.tag), 0)) AS behind";
  }

  /**
   * Parameters in this order: type, status, created after, created before, overdue at, the signal
   * waited for, created_at and saga_id of the cursor, limit (each only when asked). The overdue
   * condition repeats the partial index's predicate literally, so that the planner can use it. A
   * saga waits for a signal while its durable timer names one and its journal has nothing after it
   * (the index, behind the journal, cannot tell).
   */
  static String listSql(Filter filter, boolean afterCursor) {
    return "SELECT "
        + COLUMNS
        + " FROM saga_index WHERE TRUE"
        + (filter.type().isPresent() ? " AND type = ?" : "")
        + (filter.status().isPresent() ? " AND status = ?" : "")
        + (filter.createdAfter().isPresent() ? " AND created_at >= ?" : "")
        + (filter.createdBefore().isPresent() ? " AND created_at < ?" : "")
        + (filter.overdueAt().isPresent()
            ? " AND status IN ('RUNNING', 'COMPENSATING') AND deadline IS NOT NULL"
                + " AND deadline < ?"
            : "")
        + (filter.waitingFor().isPresent()
            ? " AND status = 'RUNNING' AND EXISTS (SELECT 1 FROM saga_timer t"
                + " WHERE t.saga_id = saga_index.saga_id AND t.signal IS NOT NULL"
                + (filter.waitingForOne() ? " AND t.signal = ?" : "")
                + " AND NOT EXISTS (SELECT 1 FROM event_journal j WHERE j.persistence_id = '"
                + SagaHistory.persistenceId("").id()
                + "' || t.saga_id AND j.sequence_number > t.seq_nr))"
            : "")
        + (afterCursor ? " AND (created_at, saga_id) < (?, ?)" : "")
        + " ORDER BY created_at DESC, saga_id DESC LIMIT ?";
  }

  /**
   * Parameters in this order: changed before, the saga id to start after, limit. The status
   * literals repeat the partial index's predicate, so that the planner can use it. The durable
   * timer is checked against the journal itself, which is ahead of the index.
   */
  static String nonTerminalSql(boolean afterSagaId) {
    return "SELECT i.saga_id FROM saga_index i WHERE i.status IN ('RUNNING', 'COMPENSATING')"
        + " AND i.updated_at < ?"
        + (afterSagaId ? " AND i.saga_id > ?" : "")
        + " AND NOT EXISTS (SELECT 1 FROM saga_timer t WHERE t.saga_id = i.saga_id"
        + " AND NOT EXISTS (SELECT 1 FROM event_journal j"
        + " WHERE j.persistence_id = '"
        + SagaHistory.persistenceId("").id()
        + "' || t.saga_id AND j.sequence_number > t.seq_nr))"
        + " ORDER BY i.saga_id LIMIT ?";
  }

  private static void checkLimit(int limit) {
    if (limit < 1 || limit > MAX_LIMIT) {
      throw new IllegalArgumentException(
          "limit must be between 1 and " + MAX_LIMIT + ", was " + limit);
    }
  }

  private static List<Row> rows(PreparedStatement ps) throws SQLException {
    try (ResultSet rs = ps.executeQuery()) {
      var rows = new ArrayList<Row>();
      while (rs.next()) {
        rows.add(
            new Row(
                rs.getString("saga_id"),
                rs.getString("type"),
                rs.getInt("version"),
                SagaStatus.valueOf(rs.getString("status")),
                rs.getObject("created_at", OffsetDateTime.class).toInstant(),
                rs.getObject("updated_at", OffsetDateTime.class).toInstant(),
                rs.getString("failure")));
      }
      return rows;
    }
  }
}
