package io.sagaflow.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A node JVM holding sagas that left memory to wait on a backoff is killed with {@code kill -9}; a
 * new node JVM on the same database wakes every one of them by its durable timer, not before it was
 * due, and no participant applies an effect twice. The saga index is also rolled back, as if its
 * projection had not applied the sagas' events before the kill: the timers do not depend on it.
 */
class DurableTimersCrashIT {
  private static final int SAGAS = 40;

  private final TestDatabase db = TestDatabase.fresh();
  private final StubParticipant stub = StubParticipant.start();
  private final NodeProcesses nodes = new NodeProcesses(db, TimerTestNode.class);

  @AfterEach
  void cleanUp() {
    nodes.close();
    stub.close();
  }

  private Map<String, Instant> timers() throws Exception {
    var due = new HashMap<String, Instant>();
    try (var c = db.connect();
        var rs = c.createStatement().executeQuery("select saga_id, due_at from saga_timer")) {
      while (rs.next()) {
        due.put(rs.getString(1), rs.getObject(2, OffsetDateTime.class).toInstant());
      }
    }
    return due;
  }

  private long completed() {
    return db.count(
        "select count(distinct persistence_id) from event_journal"
            + " where event_ser_manifest like '%SagaCompleted'");
  }

  @Test
  void sagasParkedOnANodeKilledWithKill9AreWokenOnTimeByTheNextNode() throws Exception {
    stub.on("/work").failTimes(SAGAS, 503);
    Path logs = Files.createDirectories(Path.of("target", "durable-timers-crash"));
    Path first = logs.resolve("first-node.log");
    Path second = logs.resolve("second-node.log");

    Process victim = nodes.launch(first, stub.baseUrl(), Integer.toString(SAGAS));
    NodeProcesses.awaitLine(victim, first, "STARTED " + SAGAS, Duration.ofSeconds(90));
    Eventually.until(
        "every saga's durable timer written",
        Duration.ofSeconds(60),
        () -> {
          try {
            return timers().size() == SAGAS;
          } catch (Exception e) {
            return false;
          }
        });
    Map<String, Instant> due = timers();
    victim.destroyForcibly(); // SIGKILL: no shutdown hook, no graceful leave
    assertThat(victim.waitFor(30, TimeUnit.SECONDS)).isTrue();
    assertThat(completed()).isZero();
    assertThat(stub.calls("/work")).hasSize(SAGAS);
    // As if the index projection had not applied the sagas' events when the node died.
    db.execute("delete from saga_index");
    db.execute("update pekko_projection_offset_store set current_offset = '0'");

    Process survivor = nodes.launch(second, stub.baseUrl());
    NodeProcesses.awaitLine(survivor, second, "UP", Duration.ofSeconds(90));
    Eventually.until(
        "all " + SAGAS + " sagas completed", Duration.ofSeconds(120), () -> completed() == SAGAS);

    for (int i = 0; i < SAGAS; i++) {
      String id = "parked-" + i;
      var calls =
          stub.calls("/work").stream()
              .filter(c -> c.idempotencyKey().orElse("").equals(id + "/work"))
              .toList();
      assertThat(calls).as(id).hasSize(2);
      // The second attempt came from the durable timer, on the new node, not before it was due.
      assertThat(calls.get(1).arrivedAt()).as(id).isAfterOrEqualTo(due.get(id));
      assertThat(calls.get(1).sagaAttempt()).as(id).hasValue(2);
    }
    assertThat(stub.maxTimesApplied()).isEqualTo(1);
    assertThat(stub.appliedKeys()).hasSize(SAGAS);
    Eventually.until(
        "every fired timer deleted",
        Duration.ofSeconds(30),
        () -> db.count("select count(*) from saga_timer") == 0);
  }
}
