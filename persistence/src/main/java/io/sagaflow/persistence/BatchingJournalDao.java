package io.sagaflow.persistence;

import com.typesafe.config.Config;
import com.zaxxer.hikari.metrics.micrometer.MicrometerMetricsTrackerFactory;
import io.micrometer.core.instrument.MeterRegistry;
import io.sagaflow.orchestrator.fence.NodeFence;
import io.sagaflow.orchestrator.history.SagaHistory;
import io.sagaflow.orchestrator.telemetry.NodeMetrics;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.NotUsed;
import org.apache.pekko.persistence.AtomicWrite;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.persistence.jdbc.PekkoSerialization;
import org.apache.pekko.persistence.jdbc.config.EventJournalTableConfiguration;
import org.apache.pekko.persistence.jdbc.config.JournalConfig;
import org.apache.pekko.persistence.jdbc.journal.dao.DefaultJournalDao;
import org.apache.pekko.persistence.journal.Tagged;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.scaladsl.Source;
import scala.Tuple2;
import scala.concurrent.ExecutionContext;
import scala.concurrent.Future;
import scala.concurrent.Promise;
import scala.jdk.javaapi.CollectionConverters;
import scala.jdk.javaapi.FutureConverters;
import scala.runtime.BoxedUnit;
import scala.util.Failure;
import scala.util.Success;
import scala.util.Try;
import slick.jdbc.JdbcBackend;
import slick.jdbc.JdbcProfile;
import slick.jdbc.hikaricp.HikariCPJdbcDataSource;

/**
 * pekko-persistence-jdbc's journal DAO, with its two most frequent database calls batched without
 * Slick: writes go through {@link JournalBatchWriter} (group commit), and the one query every new
 * persistent actor makes before it can write — its highest sequence number — is answered for many
 * actors at once. Reads, replays and deletes stay the plugin's. Every saga is a new actor, so under
 * load the plugin's one query (and one transaction) per saga became the most frequent statement the
 * node sends. Requests that arrive while a query runs wait for the next one, which asks for all of
 * them: {@code max(sequence_number) ... WHERE persistence_id = ANY(?) GROUP BY persistence_id}, the
 * same answer the plugin's query gives (deleted rows included). Alone, a request is one query as
 * before. Configured as {@code jdbc-journal.dao}.
 */
public final class BatchingJournalDao extends DefaultJournalDao {

  /** The most persistence ids asked for in one query. */
  static final int MAX_BATCH = 500;

  private static final String SAGA_PREFIX = SagaHistory.persistenceId("").id();

  private record Request(String persistenceId, Promise<Object> answer) {}

  private final JdbcBackend.JdbcDatabaseDef database;
  private final Serialization serialization;
  private final JournalBatchWriter writer;
  private final JournalHealth health;
  private final String sql;
  private final int timeoutSeconds;
  private final BatchedReplays replays;
  private final ConcurrentLinkedQueue<Request> pending = new ConcurrentLinkedQueue<>();
  private final AtomicBoolean draining = new AtomicBoolean();
  // One drain at a time needs one thread; it ends when idle, so a stopped actor system leaves none.
  private final ThreadPoolExecutor drainer =
      new ThreadPoolExecutor(
          0,
          1,
          10,
          TimeUnit.SECONDS,
          new LinkedBlockingQueue<>(),
          task -> {
            Thread thread = new Thread(task, "sagaflow-journal-highest-seqnr");
            thread.setDaemon(true);
            return thread;
          });

  public BatchingJournalDao(
      JdbcBackend.JdbcDatabaseDef db,
      JdbcProfile profile,
      JournalConfig journalConfig,
      Serialization serialization,
      ExecutionContext ec,
      Materializer mat) {
    super(db, profile, journalConfig, serialization, ec, mat);
    this.database = db;
    this.serialization = serialization;
    this.health = JournalHealth.get(serialization.system());
    this.sql = highestSequenceNumbersSql(journalConfig.eventJournalTableConfiguration());
    Duration timeout = callTimeout(serialization);
    this.timeoutSeconds = JournalBatchWriter.queryTimeoutSeconds(timeout);
    this.writer =
        new JournalBatchWriter(
            () -> db.source().createConnection(),
            journalConfig.eventJournalTableConfiguration(),
            journalConfig.daoConfig().parallelism(),
            journalConfig.daoConfig().batchSize(),
            timeout,
            () -> "sagaflow-journal-writer",
            health,
            NodeFence.get(serialization.system()),
            NodeMetrics.get(serialization.system()).registry());
    measurePool(db, NodeMetrics.get(serialization.system()).registry());
    this.replays =
        new BatchedReplays(
            () -> db.source().createConnection(),
            journalConfig.eventJournalTableConfiguration(),
            serialization,
            health,
            timeoutSeconds);
  }

  /**
   * A saga's events, read with other recovering sagas' in one query ({@link BatchedReplays}); any
   * other persistent actor's through the plugin's query.
   */
  @Override
  public Source<Try<Tuple2<PersistentRepr, Object>>, NotUsed> messages(
      String persistenceId, long fromSequenceNr, long toSequenceNr, long max) {
    if (!persistenceId.startsWith(SAGA_PREFIX)) {
      return super.messages(persistenceId, fromSequenceNr, toSequenceNr, max);
    }
    return org.apache.pekko.stream.javadsl.Source.completionStage(
            FutureConverters.asJava(
                replays.replay(persistenceId, fromSequenceNr, toSequenceNr, max)))
        .mapConcat(events -> events)
        .asScala();
  }

  /**
   * The journal's connection pool (Slick's HikariCP, shared with the snapshot store and the read
   * journal) publishes {@code hikaricp_*} meters. Only once per pool: a journal plugin restarted in
   * the same actor system finds its pool measured already.
   */
  private static void measurePool(JdbcBackend.JdbcDatabaseDef db, MeterRegistry meters) {
    if (db.source() instanceof HikariCPJdbcDataSource hikari) {
      synchronized (hikari) {
        if (hikari.ds().getMetricsTrackerFactory() == null) {
          hikari.ds().setMetricsTrackerFactory(new MicrometerMetricsTrackerFactory(meters));
        }
      }
    }
  }

  /**
   * How long a journal batch or a highest-sequence-number query may take: the journal's {@code
   * circuit-breaker.call-timeout}, after which Pekko has failed the call anyway. The statement is
   * then cancelled, so that one stuck call does not hold the thread every other call waits for.
   */
  private static Duration callTimeout(Serialization serialization) {
    Config config = serialization.system().settings().config();
    // Pekko gives a plugin the keys it lacks from the journal plugin fallback.
    String own = "jdbc-journal.circuit-breaker.call-timeout";
    return config.getDuration(
        config.hasPath(own)
            ? own
            : "pekko.persistence.journal-plugin-fallback.circuit-breaker.call-timeout");
  }

  /**
   * Writes through {@link JournalBatchWriter} (plain JDBC group commit) instead of the plugin's
   * Slick stream: the same rows in the same table, with fewer threads and allocations per write.
   * Events tagged the plugin's way ({@link Tagged}) still take the plugin's path, which also fills
   * {@code event_tag} for them. As in the plugin, a write whose events cannot be serialized is
   * rejected alone and the others are written.
   */
  @Override
  public Future<scala.collection.immutable.Seq<Try<BoxedUnit>>> asyncWriteMessages(
      scala.collection.immutable.Seq<AtomicWrite> messages) {
    List<AtomicWrite> writes = CollectionConverters.asJava(messages);
    List<JournalBatchWriter.Row> rows = new ArrayList<>();
    List<Try<BoxedUnit>> results = new ArrayList<>(writes.size());
    boolean allSerialized = true;
    for (AtomicWrite write : writes) {
      try {
        List<JournalBatchWriter.Row> serialized = new ArrayList<>();
        for (PersistentRepr repr : CollectionConverters.asJava(write.payload())) {
          if (repr.payload() instanceof Tagged) {
            return super.asyncWriteMessages(messages);
          }
          serialized.add(row(repr));
        }
        rows.addAll(serialized);
        results.add(new Success<>(BoxedUnit.UNIT));
      } catch (Exception e) { // Try.get rethrows the serializer's checked exceptions too
        allSerialized = false;
        results.add(new Failure<>(e));
      }
    }
    scala.collection.immutable.Seq<Try<BoxedUnit>> answer =
        allSerialized
            ? scala.collection.immutable.List$.MODULE$.empty()
            : CollectionConverters.asScala(results).toList();
    if (rows.isEmpty()) {
      return Future.successful(answer);
    }
    return writer
        .write(rows)
        .map(done -> answer, scala.concurrent.ExecutionContext.parasitic$.MODULE$);
  }

  private JournalBatchWriter.Row row(PersistentRepr repr) {
    PekkoSerialization.PekkoSerialized event =
        PekkoSerialization.serialize(serialization, repr.payload()).get();
    // As the plugin does: metadata that cannot be serialized is left out, not the event.
    PekkoSerialization.PekkoSerialized meta =
        repr.metadata().isDefined()
            ? PekkoSerialization.serialize(serialization, repr.metadata().get())
                .toOption()
                .getOrElse(() -> null)
            : null;
    return new JournalBatchWriter.Row(
        repr.persistenceId(),
        repr.sequenceNr(),
        repr.deleted(),
        repr.writerUuid(),
        repr.timestamp(),
        repr.manifest(),
        event.serId(),
        event.serManifest(),
        event.payload(),
        meta == null ? null : meta.serId(),
        meta == null ? null : meta.serManifest(),
        meta == null ? null : meta.payload());
  }

  static String highestSequenceNumbersSql(EventJournalTableConfiguration table) {
    String name = SqlNames.table(table.schemaName(), table.tableName());
    String id = SqlNames.quote(table.columnNames().persistenceId());
    String seq = SqlNames.quote(table.columnNames().sequenceNumber());
    return "SELECT "
        + id
        + ", max("
        + seq
        + ") FROM "
        + name
        + " WHERE "
        + id
        + " = ANY(?) GROUP BY "
        + id;
  }

  @Override
  public Future<Object> highestSequenceNr(String persistenceId, long fromSequenceNr) {
    Promise<Object> answer = Promise.apply();
    pending.add(new Request(persistenceId, answer));
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
      Map<String, Long> highest = query(batch);
      health.succeeded();
      for (Request request : batch) {
        request.answer().success(highest.getOrDefault(request.persistenceId(), 0L));
      }
    } catch (SQLException | RuntimeException e) {
      health.failed(e);
      for (Request request : batch) {
        request.answer().tryFailure(e);
      }
    }
  }

  private Map<String, Long> query(List<Request> batch) throws SQLException {
    String[] ids = batch.stream().map(Request::persistenceId).distinct().toArray(String[]::new);
    try (Connection c = database.source().createConnection()) {
      c.setAutoCommit(true);
      Array array = c.createArrayOf("varchar", ids);
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        ps.setQueryTimeout(timeoutSeconds);
        ps.setArray(1, array);
        try (ResultSet rs = ps.executeQuery()) {
          Map<String, Long> highest = new HashMap<>();
          while (rs.next()) {
            highest.put(rs.getString(1), rs.getLong(2));
          }
          return highest;
        }
      } finally {
        array.free();
      }
    }
  }
}
