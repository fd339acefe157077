package io.sagaflow.persistence;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.persistence.jdbc.PekkoSerialization;
import org.apache.pekko.persistence.jdbc.config.EventJournalTableColumnNames;
import org.apache.pekko.persistence.jdbc.config.EventJournalTableConfiguration;
import org.apache.pekko.persistence.jdbc.journal.dao.JournalTables;
import org.apache.pekko.serialization.Serialization;
import scala.Option;
import scala.Tuple2;
import scala.concurrent.Future;
import scala.concurrent.Promise;
import scala.util.Try;

/**
 * The events of many recovering sagas read in one query: every saga woken by its durable timer
 * replays its journal, and the plugin's replay is one Slick query (and transaction) per saga.
 * Requests that arrive while a query runs wait for the next one, which reads all of them: {@code
 * ... WHERE persistence_id = ANY(?) AND NOT deleted ORDER BY persistence_id, sequence_number}; each
 * request then gets its own rows within its sequence range and limit, deserialized by the plugin's
 * own code, as the plugin's replay gives them. Only for sagas, whose journals are a handful of
 * events; other persistent actors (sharding's) keep the plugin's paged replay.
 */
final class BatchedReplays {
  static final int MAX_BATCH = 200;

  private record Request(
      String persistenceId,
      long from,
      long to,
      long max,
      Promise<List<Try<Tuple2<PersistentRepr, Object>>>> answer) {}

  /** Where connections come from; the caller's pool. */
  interface Connections {
    Connection get() throws SQLException;
  }

  private final Connections connections;
  private final Serialization serialization;
  private final JournalHealth health;
  private final int timeoutSeconds;
  private final String sql;
  private final ConcurrentLinkedQueue<Request> pending = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean draining = new AtomicBoolean();
  private final ThreadPoolExecutor drainer =
      new ThreadPoolExecutor(
          0,
          1,
          10,
          TimeUnit.SECONDS,
          new LinkedBlockingQueue<>(),
          task -> {
            Thread thread = new Thread(task, "sagaflow-journal-replays");
            thread.setDaemon(true);
            return thread;
          });

  BatchedReplays(
      Connections connections,
      EventJournalTableConfiguration table,
      Serialization serialization,
      JournalHealth health,
      int timeoutSeconds) {
    this.connections = connections;
    this.serialization = serialization;
    this.health = health;
    this.timeoutSeconds = timeoutSeconds;
    this.sql = sql(table);
  }

  static String sql(EventJournalTableConfiguration table) {
    EventJournalTableColumnNames c = table.columnNames();
    String columns =
        String.join(
            ", ",
            List.of(
                    c.ordering(),
                    c.deleted(),
                    c.persistenceId(),
                    c.sequenceNumber(),
                    c.writer(),
                    c.writeTimestamp(),
                    c.adapterManifest(),
                    c.eventPayload(),
                    c.eventSerId(),
                    c.eventSerManifest(),
                    c.metaPayload(),
                    c.metaSerId(),
                    c.metaSerManifest())
                .stream()
                .map(SqlNames::quote)
                .toList());
    String id = SqlNames.quote(c.persistenceId());
    return "SELECT "
        + columns
        + " FROM "
        + SqlNames.table(table.schemaName(), table.tableName())
        + " WHERE "
        + id
        + " = ANY(?) AND NOT "
        + SqlNames.quote(c.deleted())
        + " ORDER BY "
        + id
        + ", "
        + SqlNames.quote(c.sequenceNumber());
  }

  /** The events of {@code persistenceId} from {@code from} to {@code to}, at most {@code max}. */
  Future<List<Try<Tuple2<PersistentRepr, Object>>>> replay(
      String persistenceId, long from, long to, long max) {
    Promise<List<Try<Tuple2<PersistentRepr, Object>>>> answer = Promise.apply();
    pending.add(new Request(persistenceId, from, to, max, answer));
    if (draining.compareAndSet(false, true)) {
      drainer.execute(this::drain);
    }
    return answer.future();
  }

  /** Answers batches until nothing is pending; one drain runs at a time. */
  private void drain() {
    while (true) {
      List<Request> batch = new ArrayList<>();
      Request next;
      while (batch.size() < MAX_BATCH && (next = pending.poll()) != null) {
        batch.add(next);
      }
      if (batch.isEmpty()) {
        draining.set(false);
        // A request added after the poll and before the flag was cleared found the flag set and
        // relies on this drain: take it over unless another drain already has.
        if (pending.isEmpty() || !draining.compareAndSet(false, true)) {
          return;
        }
        continue;
      }
      answer(batch);
    }
  }

  private void answer(List<Request> batch) {
    try {
      Map<String, List<JournalTables.JournalPekkoSerializationRow>> rows = query(batch);
      health.succeeded();
      for (Request r : batch) {
        var events = new ArrayList<Try<Tuple2<PersistentRepr, Object>>>();
        for (JournalTables.JournalPekkoSerializationRow row :
            rows.getOrDefault(r.persistenceId(), List.of())) {
          if (events.size() >= r.max()) {
            break;
          }
          if (row.sequenceNumber() >= r.from() && row.sequenceNumber() <= r.to()) {
            events.add(PekkoSerialization.fromRow(serialization, row));
          }
        }
        r.answer().success(events);
      }
    } catch (SQLException | RuntimeException e) {
      health.failed(e);
      for (Request r : batch) {
        r.answer().tryFailure(e);
      }
    }
  }

  private Map<String, List<JournalTables.JournalPekkoSerializationRow>> query(List<Request> batch)
      throws SQLException {
    String[] ids = batch.stream().map(Request::persistenceId).distinct().toArray(String[]::new);
    try (Connection c = connections.get()) {
      c.setAutoCommit(true);
      Array array = c.createArrayOf("varchar", ids);
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        ps.setQueryTimeout(timeoutSeconds);
        ps.setArray(1, array);
        try (ResultSet rs = ps.executeQuery()) {
          Map<String, List<JournalTables.JournalPekkoSerializationRow>> rows = new HashMap<>();
          while (rs.next()) {
            var row = row(rs);
            rows.computeIfAbsent(row.persistenceId(), id -> new ArrayList<>()).add(row);
          }
          return rows;
        }
      } finally {
        array.free();
      }
    }
  }

  private static JournalTables.JournalPekkoSerializationRow row(ResultSet rows)
      throws SQLException {
    long writeTimestamp = rows.getLong(6);
    byte[] metaPayload = rows.getBytes(11);
    int metaSerId = rows.getInt(12);
    Option<Object> metaSerIdOption = rows.wasNull() ? Option.empty() : Option.apply(metaSerId);
    return new JournalTables.JournalPekkoSerializationRow(
        rows.getLong(1),
        rows.getBoolean(2),
        rows.getString(3),
        rows.getLong(4),
        rows.getString(5),
        writeTimestamp,
        rows.getString(7),
        rows.getBytes(8),
        rows.getInt(9),
        rows.getString(10),
        Option.apply(metaPayload),
        metaSerIdOption,
        Option.apply(rows.getString(13)));
  }
}
