package io.sagaflow.persistence.index;

import static io.sagaflow.persistence.index.IndexEvents.compensationRejected;
import static io.sagaflow.persistence.index.IndexEvents.started;
import static io.sagaflow.persistence.index.IndexEvents.stepRejected;
import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.persistence.testing.TestDatabase;
import java.sql.SQLException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** How each saga event changes its index row, on a real database, without the projection. */
class SagaIndexUpdatesIT {

  private static final Instant T0 = Instant.parse("2025-01-01T10:00:00.123456789Z");

  private TestDatabase db;
  private IndexEvents events;
  private SagaIndex index;

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

  @Test
  void startedSagaIsRunningWithItsTypeVersionAndTimes() {
    events.apply("s1", 1, started("order", T0));

    SagaIndex.Row row = index.find("s1").orElseThrow();
    assertThat(row.type()).isEqualTo("order");
    assertThat(row.version()).isEqualTo(1);
    assertThat(row.status()).isEqualTo(SagaStatus.RUNNING);
    assertThat(row.createdAt()).isEqualTo(T0.truncatedTo(ChronoUnit.MICROS));
    assertThat(row.updatedAt()).isEqualTo(row.createdAt());
    assertThat(row.failure()).isNull();
  }

  @Test
  void completedSagaKeepsItsCreationTime() {
    events.apply("s1", 1, started("order", T0));
    events.apply("s1", 2, new SagaEvent.StepSucceeded("reserve", 1, null, "charge", at(1)));
    events.apply("s1", 3, new SagaEvent.SagaCompleted("charge", 1, null, at(2)));

    SagaIndex.Row row = index.find("s1").orElseThrow();
    assertThat(row.status()).isEqualTo(SagaStatus.COMPLETED);
    assertThat(row.createdAt()).isEqualTo(T0.truncatedTo(ChronoUnit.MICROS));
    assertThat(row.updatedAt()).isEqualTo(at(2).truncatedTo(ChronoUnit.MICROS));
  }

  @Test
  void failedStepCompensatesAndTheReasonStaysAfterwards() {
    events.apply("s1", 1, started("order", T0));
    events.apply("s1", 2, stepRejected(List.of("reserve"), at(1)));
    assertThat(index.find("s1").orElseThrow())
        .extracting(SagaIndex.Row::status, SagaIndex.Row::failure)
        .containsExactly(SagaStatus.COMPENSATING, "step 'charge' was rejected: no");

    events.apply("s1", 3, new SagaEvent.StepCompensated("reserve", 1, true, at(2)));

    assertThat(index.find("s1").orElseThrow())
        .extracting(SagaIndex.Row::status, SagaIndex.Row::failure)
        .containsExactly(SagaStatus.COMPENSATED, "step 'charge' was rejected: no");
  }

  @Test
  void failureWithNothingToCompensateIsCompensatedAtOnce() {
    events.apply("s1", 1, started("order", T0));
    events.apply("s1", 2, stepRejected(List.of(), at(1)));
    events.apply("s2", 1, started("order", T0));
    events.apply("s2", 2, new SagaEvent.CompensationStarted("cancelled", "c1", List.of(), at(1)));

    assertThat(index.find("s1").orElseThrow().status()).isEqualTo(SagaStatus.COMPENSATED);
    assertThat(index.find("s2").orElseThrow().status()).isEqualTo(SagaStatus.COMPENSATED);
  }

  @Test
  void compensationStepThatIsNotTheLastChangesNothing() {
    events.apply("s1", 1, started("order", T0));
    events.apply(
        "s1", 2, new SagaEvent.CompensationStarted("cancelled", "c1", List.of("b", "a"), at(1)));
    String before = rowText("s1");

    events.apply("s1", 3, new SagaEvent.StepCompensated("b", 1, false, at(2)));

    assertThat(rowText("s1")).isEqualTo(before);
    assertThat(index.find("s1").orElseThrow().status()).isEqualTo(SagaStatus.COMPENSATING);
  }

  @Test
  void failedCompensationResumesToCompensating() {
    events.apply("s1", 1, started("order", T0));
    events.apply("s1", 2, stepRejected(List.of("reserve"), at(1)));
    events.apply("s1", 3, compensationRejected(at(2)));
    assertThat(index.find("s1").orElseThrow())
        .extracting(SagaIndex.Row::status, SagaIndex.Row::failure)
        .containsExactly(SagaStatus.FAILED, "compensation of step 'reserve' was rejected: cannot");

    events.apply("s1", 4, new SagaEvent.SagaResumed("cmd-1", at(3)));

    assertThat(index.find("s1").orElseThrow().status()).isEqualTo(SagaStatus.COMPENSATING);
    assertThat(db.scalar("SELECT status_before_failure FROM saga_index")).isNull();
  }

  @Test
  void sagaThatFailedWhileRunningResumesToRunning() {
    events.apply("s1", 1, started("order", T0));
    events.apply("s1", 2, new SagaEvent.SagaFailed("definition gone", at(1)));
    assertThat(index.find("s1").orElseThrow().status()).isEqualTo(SagaStatus.FAILED);
    assertThat(db.scalar("SELECT status_before_failure FROM saga_index")).isEqualTo("RUNNING");

    events.apply("s1", 3, new SagaEvent.SagaResumed("cmd-1", at(2)));

    assertThat(index.find("s1").orElseThrow().status()).isEqualTo(SagaStatus.RUNNING);
  }

  @Test
  void sagaThatFailedAfterItsPivotResumesToRunning() {
    events.apply("s1", 1, started("order", T0));
    events.apply("s1", 2, new SagaEvent.StepSucceeded("charge", 1, null, "notify", at(1)));
    events.apply("s1", 3, failedAfterPivot(at(2)));
    assertThat(index.find("s1").orElseThrow())
        .extracting(SagaIndex.Row::status, SagaIndex.Row::failure)
        .containsExactly(SagaStatus.FAILED, "step 'notify' was rejected after the pivot: no");
    assertThat(db.scalar("SELECT status_before_failure FROM saga_index")).isEqualTo("RUNNING");

    events.apply("s1", 4, new SagaEvent.SagaResumed("cmd-1", at(3)));

    assertThat(index.find("s1").orElseThrow().status()).isEqualTo(SagaStatus.RUNNING);
    assertThat(db.scalar("SELECT status_before_failure FROM saga_index")).isNull();
  }

  @Test
  void sagaThatFailedWhileCompensatingResumesToCompensating() {
    events.apply("s1", 1, started("order", T0));
    events.apply("s1", 2, new SagaEvent.CompensationStarted("deadline", null, List.of("a"), at(1)));
    events.apply("s1", 3, new SagaEvent.SagaFailed("definition gone", at(2)));

    events.apply("s1", 4, new SagaEvent.SagaResumed("cmd-1", at(3)));

    assertThat(index.find("s1").orElseThrow().status()).isEqualTo(SagaStatus.COMPENSATING);
  }

  @Test
  void replayedAndOlderEventsChangeNothing() {
    List<Object> history =
        List.of(
            started("order", T0),
            stepRejected(List.of("reserve"), at(1)),
            compensationRejected(at(2)),
            new SagaEvent.SagaResumed("cmd-1", at(3)),
            new SagaEvent.StepCompensated("reserve", 2, true, at(4)));
    for (int i = 0; i < history.size(); i++) {
      events.apply("s1", i + 1, history.get(i));
    }
    // xmin is the transaction that last wrote the row: unchanged means not even rewritten.
    String before = rowText("s1") + " xmin " + db.scalar("SELECT xmin FROM saga_index");

    for (int i = 0; i < history.size(); i++) {
      events.apply("s1", i + 1, history.get(i));
    }

    assertThat(rowText("s1") + " xmin " + db.scalar("SELECT xmin FROM saga_index"))
        .isEqualTo(before);
    assertThat(index.find("s1").orElseThrow().status()).isEqualTo(SagaStatus.COMPENSATED);
  }

  @Test
  void unknownEventsAndOtherEntitiesAreIgnored() {
    events.apply("s1", 1, started("order", T0));
    String before = rowText("s1");

    events.apply("s1", 2, "an event from a newer version");
    events.apply("s1", 3, Map.of("kind", "SagaArchived"));
    events.apply("s1", 4, new SagaEvent.StepAttemptFailed("reserve", 1, "503", at(5), at(4)));
    events.applyAs("payment|s1", 5, new SagaEvent.SagaCompleted("charge", 1, null, at(5)));
    events.applyAs("no-separator", 1, started("order", T0));

    assertThat(rowText("s1")).isEqualTo(before);
    assertThat(db.count("SELECT count(*) FROM saga_index")).isEqualTo(1);
  }

  @Test
  void eventOfASagaWithoutRowIsSkipped() {
    events.apply("ghost", 7, new SagaEvent.SagaCompleted("charge", 1, null, at(1)));

    assertThat(db.count("SELECT count(*) FROM saga_index")).isZero();
  }

  /**
   * In a group, a saga's start and the status changes after it collapse into one row write; the
   * rows must end exactly as when each event is applied alone, also when the chain is broken by an
   * event that needs the row (a failure, a resume) and when the group is replayed.
   */
  @Test
  void aGroupEndsEveryRowAsItsEventsOneByOne() {
    List<List<Object>> histories =
        List.of(
            List.of(started("order", T0), new SagaEvent.SagaCompleted("charge", 1, null, at(1))),
            List.of(
                started("order", T0),
                stepRejected(List.of("reserve"), at(1)),
                new SagaEvent.StepCompensated("reserve", 1, true, at(2))),
            List.of(started("order", T0), stepRejected(List.of(), at(1))),
            List.of(
                started("order", T0),
                failedAfterPivot(at(1)),
                new SagaEvent.SagaResumed("cmd-1", at(2)),
                new SagaEvent.SagaCompleted("notify", 2, null, at(3))),
            List.of(
                started("order", T0),
                stepRejected(List.of("reserve"), at(1)),
                compensationRejected(at(2)),
                new SagaEvent.SagaResumed("cmd-1", at(3)),
                new SagaEvent.StepCompensated("reserve", 2, true, at(4))),
            List.of(started("order", T0)));
    // One by one, as "one-<n>"; interleaved in one group, as "group-<n>".
    List<SagaIndexUpdates.Change> group = new java.util.ArrayList<>();
    for (int n = 0; n < histories.size(); n++) {
      List<Object> history = histories.get(n);
      for (int i = 0; i < history.size(); i++) {
        events.apply("one-" + n, i + 1, history.get(i));
      }
    }
    int longest = histories.stream().mapToInt(List::size).max().orElseThrow();
    for (int i = 0; i < longest; i++) {
      for (int n = 0; n < histories.size(); n++) {
        if (i < histories.get(n).size()) {
          group.add(new SagaIndexUpdates.Change("saga|group-" + n, i + 1, histories.get(n).get(i)));
        }
      }
    }

    events.applyGroup(group);
    for (int n = 0; n < histories.size(); n++) {
      assertThat(rowText("group-" + n).replace("group-", "one-"))
          .as("history %d", n)
          .isEqualTo(rowText("one-" + n));
    }

    // Replayed: nothing changes, not even the rows' versions.
    String before = db.scalar("SELECT string_agg(saga_index::text || xmin, ';') FROM saga_index");
    events.applyGroup(group);
    assertThat(db.scalar("SELECT string_agg(saga_index::text || xmin, ';') FROM saga_index"))
        .isEqualTo(before);
  }

  @Test
  void aGroupEndsARowThatOnlyItsStartHadReached() {
    events.apply("s1", 1, started("order", T0));

    events.applyGroup(
        List.of(
            new SagaIndexUpdates.Change("saga|s1", 1, started("order", T0)),
            new SagaIndexUpdates.Change(
                "saga|s1", 4, new SagaEvent.SagaCompleted("charge", 1, null, at(2)))));

    SagaIndex.Row row = index.find("s1").orElseThrow();
    assertThat(row.status()).isEqualTo(SagaStatus.COMPLETED);
    assertThat(row.createdAt()).isEqualTo(T0.truncatedTo(ChronoUnit.MICROS));
    assertThat(row.updatedAt()).isEqualTo(at(2).truncatedTo(ChronoUnit.MICROS));
  }

  private String rowText(String sagaId) {
    return db.scalar("SELECT saga_index::text FROM saga_index WHERE saga_id = '" + sagaId + "'");
  }

  private static SagaEvent.StepFailedAfterPivot failedAfterPivot(Instant at) {
    return new SagaEvent.StepFailedAfterPivot(
        "notify", 1, "no", false, "step 'notify' was rejected after the pivot: no", at);
  }

  private static Instant at(int seconds) {
    return T0.plusSeconds(seconds);
  }
}
