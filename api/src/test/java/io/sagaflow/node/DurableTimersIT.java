package io.sagaflow.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.SagaView;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.testing.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A saga waiting on a long backoff leaves memory, its due time in {@code saga_timer}, and the timer
 * poller wakes it on time; the recovery sweep leaves it alone; a passivated saga's deadline still
 * fires. Real PostgreSQL, a real HTTP participant, the periodic sweep an hour away (so that only
 * the timer can wake a saga), and durable-from lowered to 2 s.
 */
class DurableTimersIT {
  private static final Duration WAIT = Duration.ofSeconds(60);
  private static final Duration BACKOFF = Duration.ofSeconds(8);

  private static final SagaDefinition<?> PATIENT =
      SagaDefinition.builder("patient")
          .step(
              Step.named("work")
                  .invoke(HttpCall.post("payments", "/work"))
                  .noCompensation()
                  .retry(r -> r.maxAttempts(3).minBackoff(BACKOFF).maxBackoff(BACKOFF).jitter(0)))
          .build();

  private static final SagaDefinition<?> HURRIED =
      SagaDefinition.builder("hurried")
          .deadline(Duration.ofSeconds(5))
          .step(
              Step.named("hold")
                  .invoke(HttpCall.post("payments", "/hold"))
                  .compensateWith(HttpCall.post("payments", "/release")))
          .step(
              Step.named("work")
                  .invoke(HttpCall.post("payments", "/slow-work"))
                  .noCompensation()
                  .retry(
                      r ->
                          r.maxAttempts(3)
                              .minBackoff(Duration.ofMinutes(10))
                              .maxBackoff(Duration.ofMinutes(10))))
          .build();

  private static Config config(StubParticipant stub) {
    return ConfigFactory.parseMap(
            Map.of("sagaflow.recovery.sweep-interval", "1h", "sagaflow.timers.durable-from", "2s"))
        .withFallback(TestNodes.config(stub.baseUrl()));
  }

  private static void start(SagaflowNode node, String id, String type) {
    node.engine()
        .start(id, type, null, new ObjectMapper().createObjectNode())
        .toCompletableFuture()
        .join();
  }

  private static long live(SagaflowNode node, String id) {
    try {
      return node
          .engine()
          .localShards()
          .toCompletableFuture()
          .get(10, TimeUnit.SECONDS)
          .getShards()
          .stream()
          .filter(s -> s.getEntityIds().contains(id))
          .count();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  private static Instant timerOf(TestDatabase db, String id) {
    if (db.count("select count(*) from saga_timer where saga_id = '" + id + "'") == 0) {
      return null;
    }
    String due =
        db.scalar(
            "select to_char(due_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
                + " from saga_timer where saga_id = '"
                + id
                + "'");
    return OffsetDateTime.parse(due).toInstant();
  }

  private static long completed(TestDatabase db, String id) {
    return db.count(
        "select count(*) from event_journal where persistence_id = 'saga|"
            + id
            + "' and event_ser_manifest like '%SagaCompleted'");
  }

  @Test
  void aSagaWaitingOnALongBackoffLeavesMemoryAndItsTimerWakesItOnTime() {
    TestDatabase db = TestDatabase.fresh();
    try (StubParticipant stub = StubParticipant.start();
        var node = SagaflowNode.start(config(stub), TestNodes.env(db), List.of(PATIENT))) {
      stub.on("/work").failTimes(1, 503);
      start(node, "patient-1", "patient");
      var first = stub.awaitCalls("/work", 1, WAIT).get(0);

      Instant due =
          Eventually.await("patient-1's durable timer", WAIT, () -> timerOf(db, "patient-1"));
      Eventually.until("patient-1 out of memory", WAIT, () -> live(node, "patient-1") == 0);
      assertThat(due).isAfter(first.arrivedAt().plus(BACKOFF).minusSeconds(1));
      assertThat(stub.calls("/work")).hasSize(1);

      var second = stub.awaitCalls("/work", 2, WAIT).get(1);
      Eventually.until("patient-1 completed", WAIT, () -> completed(db, "patient-1") == 1);
      // Woken by its timer (nothing else could: the sweep is an hour away), not before it was due.
      assertThat(second.arrivedAt()).isAfterOrEqualTo(due);
      assertThat(second.sagaAttempt()).hasValue(2);
      assertThat(second.idempotencyKey()).isEqualTo(first.idempotencyKey());
      Eventually.until("the fired timer deleted", WAIT, () -> timerOf(db, "patient-1") == null);
      assertThat(stub.timesApplied("patient-1/work")).isEqualTo(1);
    }
  }

  @Test
  void theSweepAtStartLeavesDurablyWaitingSagasToTheirTimers() {
    TestDatabase db = TestDatabase.fresh();
    try (StubParticipant stub = StubParticipant.start()) {
      stub.on("/work").failTimes(1, 503);
      var first = SagaflowNode.start(config(stub), TestNodes.env(db), List.of(PATIENT));
      start(first, "patient-2", "patient");
      Eventually.await("patient-2's durable timer", WAIT, () -> timerOf(db, "patient-2"));
      Eventually.until("patient-2 out of memory", WAIT, () -> live(first, "patient-2") == 0);
      Eventually.until(
          "the index lists patient-2",
          WAIT,
          () -> db.count("select count(*) from saga_index where saga_id = 'patient-2'") == 1);
      first.close();

      var node = SagaflowNode.start(config(stub), TestNodes.env(db), List.of(PATIENT));
      try {
        Eventually.until(
            "the sweep at start has run",
            WAIT,
            () -> counter(node, "sagaflow.recovery.sweeps") >= 1);
        assertThat(counter(node, "sagaflow.recovery.sagas.woken")).isZero();
        assertThat(live(node, "patient-2")).isZero();
        Eventually.until("patient-2 completed", WAIT, () -> completed(db, "patient-2") == 1);
        assertThat(stub.timesApplied("patient-2/work")).isEqualTo(1);
      } finally {
        node.close();
      }
    }
  }

  @Test
  void thePassivatedSagasDeadlineFiresBeforeItsBackoffEnds() {
    TestDatabase db = TestDatabase.fresh();
    try (StubParticipant stub = StubParticipant.start();
        var node = SagaflowNode.start(config(stub), TestNodes.env(db), List.of(HURRIED))) {
      stub.on("/slow-work").failTimes(1, 503);
      start(node, "hurried-1", "hurried");
      Instant due = Eventually.await("hurried-1's timer", WAIT, () -> timerOf(db, "hurried-1"));
      Eventually.until("hurried-1 out of memory", WAIT, () -> live(node, "hurried-1") == 0);
      SagaView view = TestNodes.awaitStatus(node, "hurried-1", SagaStatus.COMPENSATED, WAIT);
      // The timer was the deadline's, not the ten-minute backoff's.
      assertThat(due).isEqualTo(view.deadline().truncatedTo(ChronoUnit.MICROS));
      assertThat(view.failure()).startsWith("deadline passed");
      assertThat(stub.timesApplied("hurried-1/hold/compensation")).isEqualTo(1);
      assertThat(stub.calls("/slow-work")).hasSize(1);
    }
  }

  private static double counter(SagaflowNode node, String name) {
    var counter =
        io.sagaflow.orchestrator.telemetry.NodeMetrics.get(node.system().classicSystem())
            .registry()
            .find(name)
            .counter();
    return counter == null ? 0 : counter.count();
  }
}
