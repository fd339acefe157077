package io.sagaflow.bench;

import io.sagaflow.persistence.DatabaseSettings;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The benchmark's own view of the database, on one connection of its own (auto-commit, so every
 * statement is one transaction, which {@link #ownStatements()} counts so that it can be subtracted
 * from the database's transaction counter).
 */
final class BenchDatabase implements AutoCloseable {

  /** Which server and how durable it is. */
  record Info(String version, String fsync, String synchronousCommit, String database) {
    String describe() {
      return version
          + ", database "
          + database
          + ", fsync "
          + fsync
          + ", synchronous_commit "
          + synchronousCommit;
    }
  }

  /**
   * Cumulative counters: committed and rolled-back transactions of this database ({@code
   * pg_stat_database}, which counts read-only ones too and lags by up to ~0.5 s), the next
   * transaction id (only transactions that write consume one, in every database of the server), and
   * the rows of sharding's remember-entities store in the journal.
   */
  record Counters(
      long commits,
      long rollbacks,
      long nextXid,
      long shardingRows,
      long coordinatorRows,
      long ownStatements) {}

  /** One journal shape: the events of a saga in order, how many sagas have it, one of them. */
  record Signature(String events, long sagas, String example) {}

  private final Connection connection;
  private long ownStatements;

  private BenchDatabase(Connection connection) {
    this.connection = connection;
  }

  static BenchDatabase connect(DatabaseSettings settings) {
    try {
      Connection c =
          DriverManager.getConnection(settings.url(), settings.user(), settings.password());
      c.setAutoCommit(true);
      return new BenchDatabase(c);
    } catch (SQLException e) {
      throw new IllegalStateException("could not connect to " + settings, e);
    }
  }

  /** Statements (each one transaction) this connection has run. */
  long ownStatements() {
    return ownStatements;
  }

  Info info() {
    return new Info(
        text("select version()"),
        text("show fsync"),
        text("show synchronous_commit"),
        text("select current_database()"));
  }

  Counters counters() {
    String sql =
        "select d.xact_commit, d.xact_rollback, txid_snapshot_xmax(txid_current_snapshot()),"
            + " (select count(*) from event_journal where persistence_id like '/sharding/%'),"
            + " (select count(*) from event_journal"
            + "   where persistence_id like '/sharding/%' and persistence_id like '%Coordinator%')"
            + " from pg_stat_database d where d.datname = current_database()";
    try (Statement s = connection.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      ownStatements++;
      rs.next();
      return new Counters(
          rs.getLong(1), rs.getLong(2), rs.getLong(3), rs.getLong(4), rs.getLong(5), ownStatements);
    } catch (SQLException e) {
      throw new IllegalStateException("could not read the database's counters", e);
    }
  }

  /**
   * Collects planner statistics of the tables on the sagas' path, as autovacuum does on its own
   * schedule (by default once a minute at most, and only after enough rows changed).
   */
  void analyze() {
    try (Statement s = connection.createStatement()) {
      s.execute(
          "ANALYZE event_journal, event_tag, snapshot, saga_index, pekko_projection_offset_store");
      ownStatements++;
    } catch (SQLException e) {
      throw new IllegalStateException("ANALYZE failed", e);
    }
  }

  /** Journal rows of the sagas whose id starts with {@code prefix}. */
  long sagaRows(String prefix) {
    return number(
        "select count(*) from event_journal where persistence_id like ?", sagaPattern(prefix));
  }

  /** Durable timers ({@code saga_timer}) of the sagas whose id starts with {@code prefix}. */
  long timers(String prefix) {
    return number("select count(*) from saga_timer where saga_id like ?", prefix + "%");
  }

  /** How many sagas whose id starts with {@code prefix} the saga index holds, by status. */
  Map<String, Long> indexStatuses(String prefix) {
    var statuses = new LinkedHashMap<String, Long>();
    query(
        "select status, count(*) from saga_index where saga_id like ? group by status order by 1",
        prefix + "%",
        rs -> statuses.put(rs.getString(1), rs.getLong(2)));
    return statuses;
  }

  /**
   * The journal of every saga whose id starts with {@code prefix}, as signatures: each saga's
   * events in sequence order, each written {@code EventType(step)} (the step only for events that
   * name one), grouped. A run where every saga did what it should has exactly one signature.
   */
  List<Signature> journalSignatures(String prefix) {
    String sql =
        "select sig, count(*), min(persistence_id) from ("
            + " select persistence_id, string_agg("
            + "   regexp_replace(event_ser_manifest, '^.*[$.]|#.*$', '', 'g')"
            + "   || coalesce('(' || (convert_from(event_payload, 'UTF8')::jsonb ->> 'step') || ')',"
            + " ''),"
            + "   ',' order by sequence_number) as sig"
            + " from event_journal where persistence_id like ? and not deleted"
            + " group by persistence_id) per_saga"
            + " group by sig order by count(*) desc";
    var signatures = new ArrayList<Signature>();
    query(
        sql,
        sagaPattern(prefix),
        rs ->
            signatures.add(
                new Signature(
                    rs.getString(1), rs.getLong(2), rs.getString(3).substring("saga|".length()))));
    return signatures;
  }

  private static String sagaPattern(String prefix) {
    return "saga|" + prefix + "%";
  }

  private String text(String sql) {
    try (Statement s = connection.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      ownStatements++;
      rs.next();
      return rs.getString(1);
    } catch (SQLException e) {
      throw new IllegalStateException("failed: " + sql, e);
    }
  }

  private long number(String sql, String parameter) {
    long[] result = new long[1];
    query(sql, parameter, rs -> result[0] = rs.getLong(1));
    return result[0];
  }

  private interface RowHandler {
    void row(ResultSet rs) throws SQLException;
  }

  private void query(String sql, String parameter, RowHandler handler) {
    try (PreparedStatement ps = connection.prepareStatement(sql)) {
      ps.setString(1, parameter);
      try (ResultSet rs = ps.executeQuery()) {
        ownStatements++;
        while (rs.next()) {
          handler.row(rs);
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException("failed: " + sql, e);
    }
  }

  @Override
  public void close() {
    try {
      connection.close();
    } catch (SQLException e) {
      // Nothing to do: the run is over.
    }
  }
}
