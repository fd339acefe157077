package io.sagaflow.persistence;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.apache.pekko.persistence.jdbc.config.EventJournalTableColumnNames;
import org.apache.pekko.persistence.jdbc.config.EventJournalTableConfiguration;
import scala.concurrent.Future;
import scala.concurrent.Promise;
import scala.runtime.BoxedUnit;

/**
 * Group commit of journal rows over plain JDBC: the writes that arrive while a batch is being
 * committed go together in the next one, as one multi-row insert in one transaction. At most {@code
 * parallelism} batches are written at once, each up to {@code maxRows} rows (the plugin's {@code
 * jdbc-journal.parallelism} and {@code batchSize}); a write that finds a writer free goes at once.
 * A batch succeeds or fails as a whole, as the plugin's own writes do.
 *
 * <p>Writers are threads of their own (blocking JDBC stays off the actor dispatchers) that end when
 * idle, so a stopped actor system leaves none behind.
 */
final class JournalBatchWriter {

  /** One serialized event, in the columns of pekko-persistence-jdbc's {@code event_journal}. */
  record Row(
      String persistenceId,
      long sequenceNr,
      boolean deleted,
      String writer,
      long timestamp,
      String adapterManifest,
      int serId,
      String serManifest,
      byte[] payload,
      Integer metaSerId,
      String metaSerManifest,
      byte[] metaPayload) {}

  private record Write(List<Row> rows, Promise<BoxedUnit> done) {}

  /** Where connections come from; each batch borrows one and gives it back. */
  interface Connections {
    Connection get() throws SQLException;
  }

  private final Connections connections;
  private final String sql;
  private final int parallelism;
  private final int maxRows;
  private final ConcurrentLinkedQueue<Write> pending = new ConcurrentLinkedQueue<>();
  private final AtomicInteger running = new AtomicInteger();
  private final ThreadPoolExecutor writers;

  JournalBatchWriter(
      Connections connections,
      EventJournalTableConfiguration table,
      int parallelism,
      int maxRows,
      Supplier<String> threadName) {
    if (parallelism < 1 || maxRows < 1) {
      throw new IllegalArgumentException(
          "jdbc-journal.parallelism and batchSize must be at least 1, not "
              + parallelism
              + " and "
              + maxRows);
    }
    this.connections = connections;
    this.sql = insertSql(table);
    this.parallelism = parallelism;
    this.maxRows = maxRows;
    // Core threads that time out: with no core threads and an unbounded queue, a
    // ThreadPoolExecutor never starts a second thread.
    this.writers =
        new ThreadPoolExecutor(
            parallelism,
            parallelism,
            10,
            TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(),
            task -> {
              Thread thread = new Thread(task, threadName.get());
              thread.setDaemon(true);
              return thread;
            });
    this.writers.allowCoreThreadTimeOut(true);
  }

  static String insertSql(EventJournalTableConfiguration table) {
    EventJournalTableColumnNames c = table.columnNames();
    List<String> columns =
        List.of(
            c.persistenceId(),
            c.sequenceNumber(),
            c.deleted(),
            c.writer(),
            c.writeTimestamp(),
            c.adapterManifest(),
            c.eventSerId(),
            c.eventSerManifest(),
            c.eventPayload(),
            c.metaSerId(),
            c.metaSerManifest(),
            c.metaPayload());
    return "INSERT INTO "
        + SqlNames.table(table.schemaName(), table.tableName())
        + " ("
        + String.join(", ", columns.stream().map(SqlNames::quote).toList())
        + ") VALUES ("
        + String.join(", ", columns.stream().map(column -> "?").toList())
        + ")";
  }

  /** Completes when {@code rows} are committed, in order, or fails with the batch's error. */
  Future<BoxedUnit> write(List<Row> rows) {
    Promise<BoxedUnit> done = Promise.apply();
    pending.add(new Write(rows, done));
    startWriterIfFree();
    return done.future();
  }

  private void startWriterIfFree() {
    while (true) {
      int now = running.get();
      if (now >= parallelism) {
        return; // a running writer takes the write with its next batch
      }
      if (running.compareAndSet(now, now + 1)) {
        writers.execute(this::writeUntilIdle);
        return;
      }
    }
  }

  private void writeUntilIdle() {
    while (true) {
      List<Write> batch = nextBatch();
      if (batch.isEmpty()) {
        running.decrementAndGet();
        // A write added after the poll may have found every writer busy: take it over unless
        // another writer has started meanwhile.
        if (pending.isEmpty()) {
          return;
        }
        int now = running.get();
        if (now >= parallelism || !running.compareAndSet(now, now + 1)) {
          return;
        }
        continue;
      }
      commit(batch);
    }
  }

  private List<Write> nextBatch() {
    List<Write> batch = new ArrayList<>();
    int rows = 0;
    Write next;
    while (rows < maxRows && (next = pending.poll()) != null) {
      batch.add(next);
      rows += next.rows().size();
    }
    return batch;
  }

  private void commit(List<Write> batch) {
    try {
      insert(batch);
    } catch (SQLException | RuntimeException e) {
      for (Write write : batch) {
        write.done().tryFailure(e);
      }
      return;
    }
    for (Write write : batch) {
      write.done().trySuccess(BoxedUnit.UNIT);
    }
  }

  private void insert(List<Write> batch) throws SQLException {
    try (Connection c = connections.get()) {
      c.setAutoCommit(false);
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        for (Write write : batch) {
          for (Row row : write.rows()) {
            bind(ps, row);
            ps.addBatch();
          }
        }
        ps.executeBatch();
        c.commit();
      } catch (SQLException | RuntimeException e) {
        try {
          c.rollback();
        } catch (SQLException rollback) {
          e.addSuppressed(rollback);
        }
        throw e;
      } finally {
        c.setAutoCommit(true);
      }
    }
  }

  private static void bind(PreparedStatement ps, Row row) throws SQLException {
    ps.setString(1, row.persistenceId());
    ps.setLong(2, row.sequenceNr());
    ps.setBoolean(3, row.deleted());
    ps.setString(4, row.writer());
    ps.setLong(5, row.timestamp());
    ps.setString(6, row.adapterManifest());
    ps.setInt(7, row.serId());
    ps.setString(8, row.serManifest());
    ps.setBytes(9, row.payload());
    if (row.metaSerId() == null) {
      ps.setNull(10, Types.INTEGER);
    } else {
      ps.setInt(10, row.metaSerId());
    }
    ps.setString(11, row.metaSerManifest());
    ps.setBytes(12, row.metaPayload());
  }
}
