package io.sagaflow.persistence.timer;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.metrics.micrometer.MicrometerMetricsTrackerFactory;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.sagaflow.orchestrator.DurableTimers;
import io.sagaflow.persistence.DatabaseSettings;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The durable timers of the sagas ({@code saga_timer}, migration V7) by plain JDBC, on a small pool
 * of their own ({@code sagaflow-timers}). Writes are group-committed: one thread takes every timer
 * asked for meanwhile and writes them in one statement, so that a hundred thousand sagas parking at
 * once cost a few hundred transactions. Times are kept to the microsecond, as PostgreSQL does.
 */
public final class SagaTimers implements DurableTimers, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SagaTimers.class);
  private static final int MAX_BATCH = 1000;

  /** One durable timer: saga {@code sagaId} is due at {@code dueAt}. */
  public record Due(String sagaId, Instant dueAt) {
    public Due {
      Objects.requireNonNull(sagaId, "sagaId");
      dueAt = dueAt.truncatedTo(ChronoUnit.MICROS);
    }
  }

  /**
   * A timer to write, or, with no {@code dueAt}, to clear if it was written before the journal's
   * {@code seqNr}-th event; {@code signal} and {@code since} for a saga waiting for a signal.
   */
  private record Write(
      String sagaId,
      Instant dueAt,
      long seqNr,
      String signal,
      Instant since,
      CompletableFuture<Void> done) {
    boolean clears() {
      return dueAt == null;
    }
  }

  private final HikariDataSource pool;
  private final BlockingQueue<Write> writes = new LinkedBlockingQueue<>();
  private final Thread writer;
  private final Counter written;
  private final Counter passivated;
  private volatile boolean closed;

  private SagaTimers(HikariDataSource pool, MeterRegistry meters) {
    this.pool = pool;
    this.written =
        Counter.builder("sagaflow.timers.written")
            .description("Durable timers written by this node's sagas (one per wait they park on)")
            .register(meters);
    this.passivated =
        Counter.builder("sagaflow.sagas.passivated.waiting")
            .description("Sagas this node passivated while they wait on a durable timer")
            .register(meters);
    this.writer = new Thread(this::writeLoop, "sagaflow-timer-writer");
    writer.setDaemon(true);
    writer.start();
  }

  /** Timers on {@code db} through a pool of {@code connections}, measured in {@code meters}. */
  public static SagaTimers open(
      DatabaseSettings db, int connections, Duration timeout, MeterRegistry meters) {
    HikariConfig config = new HikariConfig();
    config.setPoolName("sagaflow-timers");
    config.setJdbcUrl(db.url());
    config.setUsername(db.user());
    config.setPassword(db.password());
    config.setMaximumPoolSize(connections);
    config.setMinimumIdle(1);
    config.setConnectionTimeout(timeout.toMillis());
    config.setMetricsTrackerFactory(new MicrometerMetricsTrackerFactory(meters));
    return new SagaTimers(new HikariDataSource(config), meters);
  }

  @Override
  public CompletionStage<Void> schedule(String sagaId, Instant dueAt, long seqNr) {
    return enqueue(sagaId, Objects.requireNonNull(dueAt, "dueAt"), seqNr, null, null);
  }

  @Override
  public CompletionStage<Void> schedule(
      String sagaId, Instant dueAt, long seqNr, String signal, Instant since) {
    return enqueue(
        sagaId,
        Objects.requireNonNull(dueAt, "dueAt"),
        seqNr,
        Objects.requireNonNull(signal, "signal"),
        Objects.requireNonNull(since, "since"));
  }

  @Override
  public CompletionStage<Void> clear(String sagaId, long seqNr) {
    return enqueue(sagaId, null, seqNr, null, null);
  }

  private CompletionStage<Void> enqueue(
      String sagaId, Instant dueAt, long seqNr, String signal, Instant since) {
    var done = new CompletableFuture<Void>();
    if (closed) {
      done.completeExceptionally(new IllegalStateException("saga timers closed"));
    } else {
      writes.add(new Write(sagaId, dueAt, seqNr, signal, since, done));
    }
    return done;
  }

  @Override
  public void passivated() {
    passivated.increment();
  }

  private void writeLoop() {
    var batch = new ArrayList<Write>(MAX_BATCH);
    while (!closed) {
      try {
        Write first = writes.poll(200, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        writes.drainTo(batch, MAX_BATCH - 1);
        write(batch);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } finally {
        batch.clear();
      }
    }
  }

  /**
   * Writes a batch in one transaction: the clears, then the timers. One operation per saga (ON
   * CONFLICT cannot update a row twice in a statement): the newest wins, which is what applying
   * them in order would leave, since a saga clears only timers older than its newest event and
   * writes a timer only with its newest.
   */
  private void write(List<Write> batch) {
    Map<String, Write> latest = new LinkedHashMap<>();
    for (Write w : batch) {
      latest.put(w.sagaId(), w);
    }
    List<Write> clears = latest.values().stream().filter(Write::clears).toList();
    List<Write> timers = latest.values().stream().filter(w -> !w.clears()).toList();
    try (Connection c = pool.getConnection()) {
      c.setAutoCommit(false);
      try {
        clear(c, clears);
        insert(c, timers);
        c.commit();
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      } finally {
        c.setAutoCommit(true);
      }
      written.increment(batch.stream().filter(w -> !w.clears()).count());
      batch.forEach(w -> w.done().complete(null));
    } catch (SQLException | RuntimeException e) {
      log.debug("Writing {} durable timers failed: {}", batch.size(), e.toString());
      batch.forEach(w -> w.done().completeExceptionally(e));
    }
  }

  private static void insert(Connection c, List<Write> timers) throws SQLException {
    if (timers.isEmpty()) {
      return;
    }
    try (PreparedStatement ps =
        c.prepareStatement(
            "INSERT INTO saga_timer (saga_id, due_at, seq_nr, signal, waiting_since)"
                + " SELECT id, due, seq, signal, since FROM unnest(?::text[],"
                + " ?::text[]::timestamptz[], ?::bigint[], ?::text[], ?::text[]::timestamptz[])"
                + " AS t(id, due, seq, signal, since)"
                + " ON CONFLICT (saga_id) DO UPDATE SET due_at = EXCLUDED.due_at,"
                + " seq_nr = EXCLUDED.seq_nr, signal = EXCLUDED.signal,"
                + " waiting_since = EXCLUDED.waiting_since")) {
      int n = timers.size();
      var ids = new String[n];
      var dues = new String[n];
      var seqs = new Long[n];
      var signals = new String[n];
      var sinces = new String[n];
      for (int i = 0; i < n; i++) {
        Write w = timers.get(i);
        ids[i] = w.sagaId();
        dues[i] = text(w.dueAt());
        seqs[i] = w.seqNr();
        signals[i] = w.signal();
        sinces[i] = w.since() == null ? null : text(w.since());
      }
      ps.setArray(1, c.createArrayOf("text", ids));
      ps.setArray(2, c.createArrayOf("text", dues));
      ps.setArray(3, c.createArrayOf("bigint", seqs));
      ps.setArray(4, c.createArrayOf("text", signals));
      ps.setArray(5, c.createArrayOf("text", sinces));
      ps.executeUpdate();
    }
  }

  private static void clear(Connection c, List<Write> clears) throws SQLException {
    if (clears.isEmpty()) {
      return;
    }
    try (PreparedStatement ps =
        c.prepareStatement(
            "DELETE FROM saga_timer t USING unnest(?::text[], ?::bigint[]) AS d(id, seq)"
                + " WHERE t.saga_id = d.id AND t.seq_nr < d.seq")) {
      var ids = new String[clears.size()];
      var seqs = new Long[clears.size()];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = clears.get(i).sagaId();
        seqs[i] = clears.get(i).seqNr();
      }
      ps.setArray(1, c.createArrayOf("text", ids));
      ps.setArray(2, c.createArrayOf("bigint", seqs));
      ps.executeUpdate();
    }
  }

  /**
   * The timers due at or before {@code before}, earliest first, at most {@code limit}.
   *
   * @throws SQLException when the database cannot answer
   */
  public List<Due> dueBy(Instant before, int limit) throws SQLException {
    try (Connection c = pool.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "SELECT saga_id, due_at FROM saga_timer"
                    + " WHERE due_at <= ?::timestamptz ORDER BY due_at LIMIT ?")) {
      ps.setString(1, text(before));
      ps.setInt(2, limit);
      try (ResultSet rs = ps.executeQuery()) {
        var due = new ArrayList<Due>();
        while (rs.next()) {
          due.add(new Due(rs.getString(1), rs.getObject(2, OffsetDateTime.class).toInstant()));
        }
        return due;
      }
    }
  }

  /**
   * Deletes these timers, each only if it is still due at the same time (a saga that wrote a new
   * one meanwhile keeps it).
   *
   * @throws SQLException when the database cannot answer
   */
  public int delete(List<Due> fired) throws SQLException {
    if (fired.isEmpty()) {
      return 0;
    }
    try (Connection c = pool.getConnection();
        PreparedStatement ps =
            c.prepareStatement(
                "DELETE FROM saga_timer t"
                    + " USING unnest(?::text[], ?::text[]::timestamptz[]) AS d(id, due)"
                    + " WHERE t.saga_id = d.id AND t.due_at = d.due")) {
      var ids = new String[fired.size()];
      var dues = new String[fired.size()];
      for (int i = 0; i < ids.length; i++) {
        ids[i] = fired.get(i).sagaId();
        dues[i] = text(fired.get(i).dueAt());
      }
      ps.setArray(1, c.createArrayOf("text", ids));
      ps.setArray(2, c.createArrayOf("text", dues));
      return ps.executeUpdate();
    }
  }

  /**
   * Timers whose due time has passed by the database's clock and that are still there: the ones the
   * poller has not fired yet or fired within its last round.
   *
   * @throws SQLException when the database cannot answer
   */
  public long countDue() throws SQLException {
    try (Connection c = pool.getConnection();
        PreparedStatement ps =
            c.prepareStatement("SELECT count(*) FROM saga_timer WHERE due_at <= now()");
        ResultSet rs = ps.executeQuery()) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** ISO-8601 in UTC, to the microsecond: PostgreSQL reads it back exactly. */
  private static String text(Instant at) {
    return at.truncatedTo(ChronoUnit.MICROS).toString();
  }

  @Override
  public void close() {
    closed = true;
    writer.interrupt();
    try {
      writer.join(TimeUnit.SECONDS.toMillis(5));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    Write w;
    while ((w = writes.poll()) != null) {
      w.done().completeExceptionally(new IllegalStateException("saga timers closed"));
    }
    pool.close();
  }
}
