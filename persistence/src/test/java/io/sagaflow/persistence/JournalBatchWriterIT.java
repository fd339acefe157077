package io.sagaflow.persistence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sagaflow.orchestrator.fence.FencedException;
import io.sagaflow.orchestrator.fence.NodeFence;
import io.sagaflow.persistence.testing.BlackHoleProxy;
import io.sagaflow.persistence.testing.TestDatabase;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.persistence.jdbc.config.JournalConfig;
import org.junit.jupiter.api.Test;
import scala.concurrent.Await;
import scala.concurrent.Future;
import scala.concurrent.duration.FiniteDuration;
import scala.runtime.BoxedUnit;

/** {@link JournalBatchWriter} against the migrated journal table of a real PostgreSQL. */
class JournalBatchWriterIT {

  private static final FiniteDuration TIMEOUT = FiniteDuration.apply(20, TimeUnit.SECONDS);

  private final TestDatabase db = TestDatabase.fresh();
  private final AtomicInteger borrowed = new AtomicInteger();
  private final JournalHealth health = new JournalHealth();
  private final NodeFence fence = new NodeFence();
  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();

  @Test
  void writesThatArriveDuringACommitShareTheNextOne() throws Exception {
    CountDownLatch firstBatchTaken = new CountDownLatch(1);
    CountDownLatch firstBatchMayProceed = new CountDownLatch(1);
    JournalBatchWriter writer = firstBatchWaits(1, firstBatchTaken, firstBatchMayProceed);

    List<Future<BoxedUnit>> writes = new ArrayList<>();
    writes.add(writer.write(List.of(row("saga|w0", 1, "tag:t"), row("saga|w0", 2, ""))));
    await(firstBatchTaken);
    for (int i = 1; i < 200; i++) {
      writes.add(writer.write(List.of(row("saga|w" + i, 1, "tag:t"), row("saga|w" + i, 2, ""))));
    }
    firstBatchMayProceed.countDown();
    for (Future<BoxedUnit> write : writes) {
      Await.result(write, TIMEOUT);
    }

    // The first write went alone; the 199 queued while it was being written went together, in
    // one transaction (a batch borrows one connection).
    assertThat(borrowed).hasValue(2);
    assertThat(db.count("SELECT count(*) FROM event_journal")).isEqualTo(400);
    assertThat(db.count("SELECT count(*) FROM event_tag WHERE tag = 't'")).isEqualTo(200);
    // Within the batch, rows keep the order they were given in: each saga's events in sequence.
    assertEachSagasRowsAreInSequence();
    // Measured per batch: two batch writes, of 2 and 398 rows.
    var batchSize = meters.get("sagaflow.journal.batch.size").summary();
    assertThat(batchSize.count()).isEqualTo(2);
    assertThat(batchSize.totalAmount()).isEqualTo(400);
    assertThat(batchSize.max()).isEqualTo(398);
    assertThat(meters.get("sagaflow.journal.write").timer().count()).isEqualTo(2);
    assertThat(meters.get("sagaflow.journal.write.errors").counter().count()).isZero();
  }

  @Test
  void aFencedNodeWritesWhileItsLeaseIsValidInTheDatabaseAndNeverAfter() throws Exception {
    try (Connection c = db.connect()) {
      NodeLeases.acquire(c, "node-a", Duration.ofMinutes(1), 5);
    }
    fence.enable("node-a");
    fence.renewed(System.nanoTime(), Duration.ofMinutes(1));
    JournalBatchWriter writer = writer(1, 400, db::connect);

    Await.result(writer.write(List.of(row("saga|f1", 1, ""), row("saga|f1", 2, ""))), TIMEOUT);
    assertThat(db.count("SELECT count(*) FROM event_journal")).isEqualTo(2);

    // The lease expires by the database's clock while this process still believes it valid, as
    // for a node frozen between its last check and its write: the database refuses the write.
    db.execute("UPDATE sagaflow_node_lease SET expires_at = clock_timestamp() - interval '1 s'");
    assertThat(fence.mayAct()).isTrue();
    Future<BoxedUnit> refused = writer.write(List.of(row("saga|f1", 3, ""), row("saga|f2", 1, "")));
    assertThatThrownBy(() -> Await.result(refused, TIMEOUT))
        .isInstanceOf(FencedException.class)
        .hasMessageContaining("lease 'node-a' has expired or is fenced");
    assertThat(db.count("SELECT count(*) FROM event_journal")).isEqualTo(2);

    // Taken back (the node showed it was not frozen), the same node writes again.
    try (Connection c = db.connect()) {
      assertThat(NodeLeases.renew(c, "node-a", Duration.ofMinutes(1), 5)).isFalse();
      assertThat(NodeLeases.reacquire(c, "node-a", Duration.ofMinutes(1), 5)).isTrue();
    }
    Await.result(writer.write(List.of(row("saga|f1", 3, ""))), TIMEOUT);
    assertThat(db.count("SELECT count(*) FROM event_journal")).isEqualTo(3);

    // Fenced for good: never again, even reacquired.
    try (Connection c = db.connect()) {
      NodeLeases.fence(c, "node-a", 5);
      assertThat(NodeLeases.reacquire(c, "node-a", Duration.ofMinutes(1), 5)).isFalse();
    }
    Future<BoxedUnit> afterFence = writer.write(List.of(row("saga|f1", 4, "")));
    assertThatThrownBy(() -> Await.result(afterFence, TIMEOUT)).isInstanceOf(FencedException.class);
    assertThat(db.count("SELECT count(*) FROM event_journal")).isEqualTo(3);
    // Both refused batches are failed writes.
    assertThat(meters.get("sagaflow.journal.write.errors").counter().count()).isEqualTo(2);
  }

  @Test
  void aNodeWhoseLeaseLapsedLocallyDoesNotEvenAskTheDatabase() {
    fence.enable("node-b");
    fence.renewed(System.nanoTime() - Duration.ofSeconds(10).toNanos(), Duration.ofSeconds(4));
    JournalBatchWriter writer =
        writer(
            1,
            400,
            () -> {
              borrowed.incrementAndGet();
              return db.connect();
            });

    Future<BoxedUnit> refused = writer.write(List.of(row("saga|l1", 1, "")));
    assertThatThrownBy(() -> Await.result(refused, TIMEOUT))
        .isInstanceOf(FencedException.class)
        .hasMessageContaining("lease has not been renewed");
    assertThat(borrowed).hasValue(0);
    assertThat(health.writable()).as("a fenced write says nothing about the journal").isFalse();
    assertThat(health.problem()).isEqualTo("no journal call yet");
  }

  @Test
  void aSecondBatchIsWrittenWhileTheFirstWaits() throws Exception {
    CountDownLatch firstBatchTaken = new CountDownLatch(1);
    CountDownLatch firstBatchMayProceed = new CountDownLatch(1);
    JournalBatchWriter writer = firstBatchWaits(2, firstBatchTaken, firstBatchMayProceed);

    Future<BoxedUnit> first = writer.write(List.of(row("saga|p1", 1, "")));
    await(firstBatchTaken);
    Await.result(writer.write(List.of(row("saga|p2", 1, ""))), TIMEOUT);

    assertThat(first.isCompleted()).isFalse();
    assertThat(db.count("SELECT count(*) FROM event_journal")).isEqualTo(1);
    firstBatchMayProceed.countDown();
    Await.result(first, TIMEOUT);
    assertThat(db.count("SELECT count(*) FROM event_journal")).isEqualTo(2);
  }

  @Test
  void aFailedBatchFailsItsWritesAndLeavesNothingAndTheNextBatchIsWritten() throws Exception {
    JournalBatchWriter writer = writer(2, 400, db::connect);
    Await.result(writer.write(List.of(row("saga|a", 1, ""))), TIMEOUT);
    assertThat(health.writable()).isTrue();

    Future<BoxedUnit> duplicate = writer.write(List.of(row("saga|b", 1, ""), row("saga|a", 1, "")));
    assertThatThrownBy(() -> Await.result(duplicate, TIMEOUT))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("event_journal_pkey");
    assertThat(db.count("SELECT count(*) FROM event_journal WHERE persistence_id = 'saga|b'"))
        .isZero();
    assertThat(health.writable()).as("after a failed batch").isFalse();
    assertThat(health.problem()).contains("event_journal_pkey");

    Await.result(writer.write(List.of(row("saga|b", 1, ""))), TIMEOUT);
    assertThat(db.count("SELECT count(*) FROM event_journal")).isEqualTo(2);
    assertThat(health.writable()).as("after the next batch").isTrue();
    assertThat(meters.get("sagaflow.journal.write.errors").counter().count()).isEqualTo(1);
    assertThat(meters.get("sagaflow.journal.write").timer().count()).isEqualTo(3);
  }

  @Test
  void aWriteTooLargeForOneStatementIsStillAllOrNothing() throws Exception {
    JournalBatchWriter writer = writer(1, 400, db::connect);
    Await.result(writer.write(List.of(row("saga|a", 1, ""))), TIMEOUT);
    int rows = JournalBatchWriter.MAX_ROWS_PER_STATEMENT + 1;

    // Two statements: the second one's row collides, so the first one's rows must go too.
    List<JournalBatchWriter.Row> failing = new ArrayList<>();
    for (int i = 1; i < rows; i++) {
      failing.add(row("saga|big", i, ""));
    }
    failing.add(row("saga|a", 1, ""));
    assertThatThrownBy(() -> Await.result(writer.write(failing), TIMEOUT))
        .isInstanceOf(SQLException.class)
        .hasMessageContaining("event_journal_pkey");
    assertThat(db.count("SELECT count(*) FROM event_journal WHERE persistence_id = 'saga|big'"))
        .isZero();

    List<JournalBatchWriter.Row> large = new ArrayList<>();
    for (int i = 1; i <= rows; i++) {
      large.add(row("saga|big", i, ""));
    }
    Await.result(writer.write(large), TIMEOUT);
    assertThat(db.count("SELECT count(*) FROM event_journal WHERE persistence_id = 'saga|big'"))
        .isEqualTo(rows);
    assertEachSagasRowsAreInSequence();
  }

  @Test
  void aWriteHeldUpPastItsTimeoutFailsAndFreesTheWriter() throws Exception {
    JournalBatchWriter writer = writer(1, 400, Duration.ofSeconds(1), db::connect);
    try (Connection holder = db.connect()) {
      holder.setAutoCommit(false);
      try (PreparedStatement insert =
          holder.prepareStatement(
              "INSERT INTO event_journal (persistence_id, sequence_number, deleted, writer,"
                  + " write_timestamp, adapter_manifest, event_ser_id, event_ser_manifest,"
                  + " event_payload) VALUES ('saga|held', 1, false, 'w', 0, '', 1, '', ?)")) {
        insert.setBytes(1, "{}".getBytes(StandardCharsets.UTF_8));
        insert.executeUpdate();
      }
      // The same key, not yet committed by the holder: PostgreSQL makes the writer wait for it.
      Future<BoxedUnit> held = writer.write(List.of(row("saga|held", 1, "")));
      assertThatThrownBy(() -> Await.result(held, TIMEOUT))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("canceling statement");
      holder.rollback();
    }

    // The one writer thread is free again.
    Await.result(writer.write(List.of(row("saga|held", 1, ""))), TIMEOUT);
    assertThat(db.count("SELECT count(*) FROM event_journal WHERE persistence_id = 'saga|held'"))
        .isEqualTo(1);
  }

  /**
   * A database that stops answering altogether (a lost route, a failed-over primary) answers
   * neither the statement nor its cancel request: the socket timeout that JournalConfig gives every
   * connection is what frees the writer. The statement timeout here is longer than the test's wait.
   */
  @Test
  void aWriteLostInADeadNetworkFailsAfterTheSocketTimeoutAndFreesTheWriter() throws Exception {
    try (BlackHoleProxy proxy = BlackHoleProxy.inFrontOf(db.jdbcUrl())) {
      Properties driver = new Properties();
      driver.setProperty("user", db.user());
      driver.setProperty("password", db.password());
      driver.setProperty("socketTimeout", "2");
      Connection established = DriverManager.getConnection(proxy.url(db.jdbcUrl()), driver);
      JournalBatchWriter writer =
          writer(
              1,
              400,
              Duration.ofMinutes(1),
              () ->
                  borrowed.incrementAndGet() == 1
                      ? established
                      : DriverManager.getConnection(proxy.url(db.jdbcUrl()), driver));

      proxy.cutOff();
      Future<BoxedUnit> lost = writer.write(List.of(row("saga|lost", 1, "")));
      assertThatThrownBy(() -> Await.result(lost, TIMEOUT))
          .isInstanceOf(SQLException.class)
          .hasMessageContaining("I/O error")
          .hasRootCauseInstanceOf(SocketTimeoutException.class);

      proxy.restore();
      // The one writer thread is free again, and takes a new connection.
      Await.result(writer.write(List.of(row("saga|next", 1, ""))), TIMEOUT);
      assertThat(db.count("SELECT count(*) FROM event_journal WHERE persistence_id = 'saga|next'"))
          .isEqualTo(1);
    }
  }

  @Test
  void aDatabaseThatCannotBeReachedFailsTheWrite() {
    JournalBatchWriter writer =
        writer(
            1,
            400,
            () -> {
              throw new SQLException("connection refused");
            });
    assertThatThrownBy(() -> Await.result(writer.write(List.of(row("saga|c", 1, ""))), TIMEOUT))
        .hasMessage("connection refused");
  }

  /** No saga has an event written (ordering) before one with a lower sequence number. */
  private void assertEachSagasRowsAreInSequence() {
    assertThat(
            db.count(
                "SELECT count(*) FROM event_journal a JOIN event_journal b"
                    + " ON a.persistence_id = b.persistence_id"
                    + " AND a.sequence_number < b.sequence_number AND a.ordering > b.ordering"))
        .isZero();
  }

  /**
   * A writer whose first batch, once it has taken its writes, says so on {@code taken} and waits
   * for {@code mayProceed} before it gets its connection.
   */
  private JournalBatchWriter firstBatchWaits(
      int parallelism, CountDownLatch taken, CountDownLatch mayProceed) {
    return writer(
        parallelism,
        400,
        () -> {
          if (borrowed.incrementAndGet() == 1) {
            taken.countDown();
            await(mayProceed);
          }
          return db.connect();
        });
  }

  private JournalBatchWriter writer(
      int parallelism, int maxRows, JournalBatchWriter.Connections connections) {
    return writer(parallelism, maxRows, Duration.ofSeconds(20), connections);
  }

  private JournalBatchWriter writer(
      int parallelism, int maxRows, Duration timeout, JournalBatchWriter.Connections connections) {
    JournalConfig config = new JournalConfig(ConfigFactory.load().getConfig("jdbc-journal"));
    return new JournalBatchWriter(
        connections,
        config.eventJournalTableConfiguration(),
        parallelism,
        maxRows,
        timeout,
        () -> "journal-writer-test",
        health,
        fence,
        meters);
  }

  private static JournalBatchWriter.Row row(String persistenceId, long seqNr, String manifest) {
    return new JournalBatchWriter.Row(
        persistenceId,
        seqNr,
        false,
        "writer-1",
        0L,
        manifest,
        1,
        "",
        "{}".getBytes(StandardCharsets.UTF_8),
        null,
        null,
        null);
  }

  private static void await(CountDownLatch latch) {
    try {
      if (!latch.await(Duration.ofSeconds(20).toMillis(), TimeUnit.MILLISECONDS)) {
        throw new IllegalStateException("the test never released the first batch");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
