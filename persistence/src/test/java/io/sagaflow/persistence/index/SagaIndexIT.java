package io.sagaflow.persistence.index;

import static io.sagaflow.persistence.index.IndexEvents.compensationRejected;
import static io.sagaflow.persistence.index.IndexEvents.started;
import static io.sagaflow.persistence.index.IndexEvents.stepRejected;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.typesafe.config.ConfigFactory;
import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaHistory;
import io.sagaflow.persistence.testing.TestDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Listing, lookups and the recovery sweep's query, on a real database. */
class SagaIndexIT {

  private static final Instant T0 = Instant.parse("2025-01-01T10:00:00Z");
  private static final List<String> TYPES = List.of("order", "trip");

  private TestDatabase db;
  private IndexEvents events;
  private SagaIndex index;
  private final List<SagaIndex.Row> all = new ArrayList<>();

  @BeforeEach
  void freshDatabase() {
    db = TestDatabase.fresh();
    events = new IndexEvents(db);
    index = SagaIndex.connect(db.settings(), SagaIndexSettings.fromConfig(ConfigFactory.load()));
  }

  @AfterEach
  void close() throws SQLException {
    index.close();
    events.close();
  }

  /**
   * 25 sagas, two types, every status; created in pairs that share a timestamp, so that paging must
   * break ties by saga id. Ids are not in creation order.
   */
  private void twentyFiveSagas() {
    for (int i = 0; i < 25; i++) {
      String id = String.format("saga-%02d", (i * 7) % 25);
      String type = TYPES.get(i % 2);
      Instant created = T0.plusMillis(i / 2);
      events.apply(id, 1, started(type, created));
      switch (i % 5) {
        case 1 -> events.apply(id, 2, new SagaEvent.SagaCompleted("charge", 1, null, created));
        case 2 -> events.apply(id, 2, stepRejected(List.of("reserve"), created));
        case 3 -> events.apply(id, 2, stepRejected(List.of(), created));
        case 4 -> {
          events.apply(id, 2, stepRejected(List.of("reserve"), created));
          events.apply(id, 3, compensationRejected(created));
        }
        default -> {}
      }
    }
    all.addAll(index.list(Optional.empty(), Optional.empty(), 500, Optional.empty()).items());
    assertThat(all).hasSize(25);
  }

  /** A database that stops answering frees each pool's connections (see JournalBatchWriterIT). */
  @Test
  void bothIndexPoolsHaveTheSocketTimeoutOfSagaflowDb() throws SQLException {
    SagaIndexSettings settings = SagaIndexSettings.fromConfig(ConfigFactory.load());
    try (HikariDataSource reads = IndexPools.forReads(db.settings(), settings);
        HikariDataSource projection =
            IndexPools.forProjection(db.settings(), settings, new CompositeMeterRegistry());
        Connection read = reads.getConnection();
        Connection write = projection.getConnection()) {
      assertThat(read.getNetworkTimeout()).isEqualTo(30_000);
      assertThat(write.getNetworkTimeout()).isEqualTo(30_000);
    }
  }

  @Test
  void listsNewestFirstAndPagesThroughEveryRowExactlyOnce() {
    twentyFiveSagas();

    List<List<SagaIndex.Row>> pages = pages(Optional.empty(), Optional.empty(), 10);

    assertThat(pages).extracting(List::size).containsExactly(10, 10, 5);
    List<SagaIndex.Row> rows = pages.stream().flatMap(List::stream).toList();
    assertThat(rows).extracting(SagaIndex.Row::sagaId).doesNotHaveDuplicates().hasSize(25);
    assertThat(rows).isSortedAccordingTo(newestFirst()).isEqualTo(all);
    assertThat(rows.get(0).createdAt()).isEqualTo(T0.plusMillis(12));
  }

  @Test
  void filtersByTypeStatusOrBothWhilePaging() {
    twentyFiveSagas();

    for (Optional<String> type : List.of(Optional.<String>empty(), Optional.of("order"))) {
      for (SagaStatus status : SagaStatus.values()) {
        Predicate<SagaIndex.Row> matches =
            r -> type.map(r.type()::equals).orElse(true) && r.status() == status;
        List<SagaIndex.Row> rows =
            pages(type, Optional.of(status), 2).stream().flatMap(List::stream).toList();
        assertThat(rows)
            .as("%s %s", type, status)
            .isNotEmpty()
            .isEqualTo(all.stream().filter(matches).toList());
      }
    }
    List<SagaIndex.Row> trips =
        pages(Optional.of("trip"), Optional.empty(), 4).stream().flatMap(List::stream).toList();
    assertThat(trips)
        .hasSize(12)
        .allMatch(r -> r.type().equals("trip"))
        .isSortedAccordingTo(newestFirst());
    assertThat(index.list(Optional.of("nope"), Optional.empty(), 10, Optional.empty()).items())
        .isEmpty();
    assertThat(index.list(Optional.of("bad\0type"), Optional.empty(), 10, Optional.empty()).items())
        .isEmpty();
  }

  @Test
  void tamperedOrForeignCursorIsRejectedAsInvalid() {
    twentyFiveSagas();
    String cursor =
        index
            .list(Optional.empty(), Optional.empty(), 10, Optional.empty())
            .nextCursor()
            .orElseThrow();
    char last = cursor.charAt(cursor.length() - 1);
    String tampered = cursor.substring(0, cursor.length() - 1) + (last == 'A' ? 'B' : 'A');

    for (String bad : List.of(tampered, "garbage", "", cursor + "x", "MTIzOnNhZ2EtMDE")) {
      assertThatThrownBy(() -> index.list(Optional.empty(), Optional.empty(), 10, Optional.of(bad)))
          .as(bad)
          .isExactlyInstanceOf(IllegalArgumentException.class)
          .hasMessage("invalid cursor");
    }
  }

  @Test
  void limitMustBeBetweenOneAndFiveHundred() {
    for (int bad : new int[] {0, -1, 501}) {
      assertThatThrownBy(
              () -> index.list(Optional.empty(), Optional.empty(), bad, Optional.empty()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("limit");
      assertThatThrownBy(() -> index.nonTerminal(bad, Optional.empty(), T0))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("limit");
    }
    assertThat(index.list(Optional.empty(), Optional.empty(), 500, Optional.empty()).items())
        .isEmpty();
  }

  @Test
  void lastPageHasNoCursorEvenWhenItIsFull() {
    twentyFiveSagas();

    SagaIndex.Page page = index.list(Optional.empty(), Optional.empty(), 25, Optional.empty());

    assertThat(page.items()).hasSize(25);
    assertThat(page.nextCursor()).isEmpty();
  }

  @Test
  void nonTerminalPagesByIdThroughRunningAndCompensatingSagas() {
    twentyFiveSagas();
    List<String> expected =
        all.stream()
            .filter(r -> r.status() == SagaStatus.RUNNING || r.status() == SagaStatus.COMPENSATING)
            .map(SagaIndex.Row::sagaId)
            .sorted()
            .toList();

    List<String> swept = new ArrayList<>();
    Optional<String> after = Optional.empty();
    List<String> page;
    do {
      page = index.nonTerminal(3, after, T0.plusSeconds(1));
      swept.addAll(page);
      after = page.isEmpty() ? after : Optional.of(page.get(page.size() - 1));
    } while (page.size() == 3);

    assertThat(swept).hasSize(10).isEqualTo(expected);
  }

  @Test
  void nonTerminalLeavesOutSagasWhoseStatusChangedAtOrAfterTheGivenInstant() {
    twentyFiveSagas();
    Instant sweepBegan = T0.plusMillis(6);
    List<String> expected =
        all.stream()
            .filter(r -> r.status() == SagaStatus.RUNNING || r.status() == SagaStatus.COMPENSATING)
            .filter(r -> r.updatedAt().isBefore(sweepBegan))
            .map(SagaIndex.Row::sagaId)
            .sorted()
            .toList();
    assertThat(expected).isNotEmpty();
    assertThat(all)
        .anySatisfy(
            r -> {
              assertThat(r.status()).isIn(SagaStatus.RUNNING, SagaStatus.COMPENSATING);
              assertThat(r.updatedAt()).isEqualTo(sweepBegan);
            });

    assertThat(index.nonTerminal(25, Optional.empty(), sweepBegan)).isEqualTo(expected);
  }

  @Test
  void findsOneSaga() {
    twentyFiveSagas();

    assertThat(index.find("saga-07"))
        .hasValueSatisfying(r -> assertThat(r.type()).isEqualTo("trip"));
    assertThat(index.find("saga-99")).isEmpty();
    assertThat(index.find("nul\0id")).isEmpty();
  }

  @Test
  void unfinishedCountsEachTypeAndStatusWithItsOldestStart() {
    twentyFiveSagas();
    var expected = new ArrayList<SagaIndex.Unfinished>();
    for (String type : TYPES) {
      for (SagaStatus status :
          List.of(SagaStatus.RUNNING, SagaStatus.COMPENSATING, SagaStatus.FAILED)) {
        List<SagaIndex.Row> rows =
            all.stream().filter(r -> r.type().equals(type) && r.status() == status).toList();
        Instant oldest = rows.stream().map(SagaIndex.Row::createdAt).min(Instant::compareTo).get();
        expected.add(new SagaIndex.Unfinished(type, status, rows.size(), oldest));
      }
    }

    assertThat(index.unfinished()).containsExactlyInAnyOrderElementsOf(expected);
    assertThat(index.unfinished()).extracting(SagaIndex.Unfinished::count).contains(2L, 3L);
  }

  @Test
  void unfinishedIsEmptyWhenEverySagaHasFinished() {
    events.apply("done", 1, started("order", T0));
    events.apply("done", 2, new SagaEvent.SagaCompleted("charge", 1, null, T0));

    assertThat(index.unfinished()).isEmpty();
  }

  @Test
  void unappliedEventsAreTheIndexTaggedRowsPastEachTagsStoredOffset() throws SQLException {
    String offsets = SagaIndexProjection.offsetTable(ConfigFactory.load());
    String tag0 = SagaHistory.INDEX_TAGS.get(0);
    String tag1 = SagaHistory.INDEX_TAGS.get(1);
    List<Long> first = new ArrayList<>();
    List<Long> second = new ArrayList<>();
    for (int seq = 1; seq <= 3; seq++) {
      first.add(journalRow("saga|a", seq, "tag:" + tag0));
    }
    journalRow("saga|a", 4, "");
    second.add(journalRow("saga|b", 1, "tag:" + tag1));
    journalRow("saga|c", 1, "tag:someone-elses");
    second.add(journalRow("saga|b", 2, "tag:" + tag1));

    assertThat(index.unappliedEvents(offsets)).as("nothing applied yet").isEqualTo(5);
    storeOffset(tag0, first.get(1));
    assertThat(index.unappliedEvents(offsets)).isEqualTo(1 + 2);
    storeOffset(tag1, second.get(1));
    assertThat(index.unappliedEvents(offsets)).isEqualTo(1);
    storeOffset(tag0, first.get(2));
    assertThat(index.unappliedEvents(offsets)).as("caught up").isZero();
  }

  private long journalRow(String persistenceId, long seq, String adapterManifest)
      throws SQLException {
    try (Connection c = db.connect();
        PreparedStatement ps =
            c.prepareStatement(
                "INSERT INTO event_journal (persistence_id, sequence_number, writer,"
                    + " write_timestamp, adapter_manifest, event_ser_id, event_ser_manifest,"
                    + " event_payload) VALUES (?, ?, 'w', 0, ?, 1, 'm', '\\x00') RETURNING ordering")) {
      ps.setString(1, persistenceId);
      ps.setLong(2, seq);
      ps.setString(3, adapterManifest);
      try (ResultSet rs = ps.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  private void storeOffset(String tag, long offset) {
    db.execute(
        "INSERT INTO pekko_projection_offset_store VALUES ('"
            + SagaIndexProjection.PROJECTION_NAME
            + "', '"
            + tag
            + "', '"
            + offset
            + "', 'SEQ', false, 0) ON CONFLICT (projection_name, projection_key) DO UPDATE SET"
            + " current_offset = EXCLUDED.current_offset");
  }

  private static SagaEvent.SagaStarted startedWithDeadline(Instant at, Instant deadline) {
    return new SagaEvent.SagaStarted(
        "order", 1, JsonNodeFactory.instance.objectNode(), "f", "t", null, "reserve", deadline, at);
  }

  private List<String> ids(SagaIndex.Filter filter) {
    return index.list(filter, 100, Optional.empty()).items().stream()
        .map(SagaIndex.Row::sagaId)
        .toList();
  }

  @Test
  void overdueListsOnlyUnfinishedSagasWhoseDeadlineHasPassed() {
    Instant now = T0.plusSeconds(3600);
    // Late and still running, late and compensating: both need an operator's eye.
    events.apply("late-running", 1, startedWithDeadline(T0, T0.plusSeconds(60)));
    events.apply("late-compensating", 1, startedWithDeadline(T0.plusMillis(1), T0.plusSeconds(60)));
    events.apply("late-compensating", 2, stepRejected(List.of("reserve"), T0.plusSeconds(70)));
    // Late but finished, not late yet, no deadline at all: none does.
    events.apply("late-completed", 1, startedWithDeadline(T0.plusMillis(2), T0.plusSeconds(60)));
    events.apply(
        "late-completed", 2, new SagaEvent.SagaCompleted("charge", 1, null, T0.plusSeconds(1)));
    events.apply("on-time", 1, startedWithDeadline(T0.plusMillis(3), now.plusSeconds(60)));
    events.apply("no-deadline", 1, started("order", T0.plusMillis(4)));
    // Started and ended in one group (the projection's shortcut row) keeps its deadline too.
    events.applyGroup(
        List.of(
            new SagaIndexUpdates.Change(
                "saga|late-group", 1, startedWithDeadline(T0.plusMillis(5), T0.plusSeconds(60))),
            new SagaIndexUpdates.Change(
                "saga|late-group", 2, stepRejected(List.of("reserve"), T0.plusMillis(6)))));

    assertThat(ids(SagaIndex.Filter.ALL.overdueAt(Optional.of(now))))
        .containsExactly("late-group", "late-compensating", "late-running");
    assertThat(
            ids(
                SagaIndex.Filter.ALL
                    .overdueAt(Optional.of(now))
                    .status(Optional.of(SagaStatus.RUNNING))))
        .containsExactly("late-running");
  }

  @Test
  void createdAfterAndBeforeBoundTheListing() {
    twentyFiveSagas();
    // Pairs of sagas share a millisecond: from T0+3 ms (inclusive) to T0+5 ms (exclusive) is 4.
    var filter =
        SagaIndex.Filter.ALL
            .createdAfter(Optional.of(T0.plusMillis(3)))
            .createdBefore(Optional.of(T0.plusMillis(5)));
    var page = index.list(filter, 3, Optional.empty());
    var rest = index.list(filter, 3, page.nextCursor());
    assertThat(page.items()).hasSize(3);
    assertThat(rest.items()).hasSize(1);
    assertThat(rest.nextCursor()).isEmpty();
    assertThat(
            Stream.concat(page.items().stream(), rest.items().stream())
                .map(SagaIndex.Row::createdAt))
        .allSatisfy(at -> assertThat(at).isBetween(T0.plusMillis(3), T0.plusMillis(4)));
  }

  @Test
  void everyQueryIsAnIndexScanWithoutSort() throws SQLException {
    twentyFiveSagas();
    try (Connection c = db.connect();
        Statement s = c.createStatement()) {
      // The table is tiny: forbid the sequential scan to see which plan the indexes allow.
      s.execute("SET enable_seqscan = off");
      s.execute("ANALYZE saga_index");
      for (boolean byType : new boolean[] {false, true}) {
        for (boolean byStatus : new boolean[] {false, true}) {
          var filter =
              SagaIndex.Filter.ALL
                  .type(byType ? Optional.of("order") : Optional.empty())
                  .status(byStatus ? Optional.of(SagaStatus.RUNNING) : Optional.empty());
          String plan = explain(c, SagaIndex.listSql(filter, true), byType, byStatus);
          assertThat(plan).as(plan).contains("Index Scan").doesNotContain("Sort");
        }
      }
      String sweep = explain(c, SagaIndex.nonTerminalSql(true), false, false);
      assertThat(sweep).as(sweep).contains("saga_index_non_terminal_idx").doesNotContain("Sort");
    }
  }

  /** The lag costs what the lag is: a range of event_tag's (tag, event_id) index per tag. */
  @Test
  void unappliedEventsCountsAnIndexRangePerTag() throws SQLException {
    String offsets = SagaIndexProjection.offsetTable(ConfigFactory.load());
    try (Connection c = db.connect();
        Statement s = c.createStatement()) {
      s.execute("SET enable_seqscan = off");
      try (PreparedStatement ps =
          c.prepareStatement("EXPLAIN " + SagaIndex.unappliedSql(offsets))) {
        ps.setArray(1, c.createArrayOf("text", SagaHistory.INDEX_TAGS.toArray()));
        ps.setString(2, SagaIndexProjection.PROJECTION_NAME);
        var plan = new StringBuilder();
        try (ResultSet rs = ps.executeQuery()) {
          while (rs.next()) {
            plan.append(rs.getString(1)).append('\n');
          }
        }
        assertThat(plan.toString()).as(plan.toString()).contains("event_tag_tag_event_id_idx");
      }
    }
  }

  private String explain(Connection c, String sql, boolean byType, boolean byStatus)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement("EXPLAIN " + sql)) {
      int i = 0;
      if (sql.contains("updated_at < ?")) {
        ps.setObject(++i, SagaIndexUpdates.timestamp(T0));
      }
      if (byType) {
        ps.setString(++i, "order");
      }
      if (byStatus) {
        ps.setString(++i, "RUNNING");
      }
      if (sql.contains("created_at, saga_id")) {
        ps.setObject(++i, SagaIndexUpdates.timestamp(T0.plusMillis(6)));
      }
      ps.setString(++i, "saga-10");
      ps.setInt(++i, 10);
      try (ResultSet rs = ps.executeQuery()) {
        var plan = new StringBuilder();
        while (rs.next()) {
          plan.append(rs.getString(1)).append('\n');
        }
        return plan.toString();
      }
    }
  }

  private List<List<SagaIndex.Row>> pages(
      Optional<String> type, Optional<SagaStatus> status, int limit) {
    List<List<SagaIndex.Row>> pages = new ArrayList<>();
    Optional<String> cursor = Optional.empty();
    do {
      SagaIndex.Page page = index.list(type, status, limit, cursor);
      assertThat(page.items()).hasSizeLessThanOrEqualTo(limit);
      pages.add(page.items());
      cursor = page.nextCursor();
      assertThat(pages).as("pages").hasSizeLessThan(100);
    } while (cursor.isPresent());
    return pages;
  }

  private static Comparator<SagaIndex.Row> newestFirst() {
    return Comparator.comparing(SagaIndex.Row::createdAt)
        .thenComparing(SagaIndex.Row::sagaId)
        .reversed();
  }
}
