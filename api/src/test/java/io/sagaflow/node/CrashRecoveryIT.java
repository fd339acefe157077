package io.sagaflow.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node JVM is killed with {@code kill -9} while 100 sagas are in flight; a new node JVM on the
 * same database finishes every one of them by itself, and no participant applies an effect twice.
 */
class CrashRecoveryIT {
  private static final Logger log = LoggerFactory.getLogger(CrashRecoveryIT.class);
  private static final int SAGAS = 100;

  private final TestDatabase db = TestDatabase.fresh();
  private final StubParticipant stub = StubParticipant.start();
  private final NodeProcesses nodes = new NodeProcesses(db, CrashTestNode.class);

  @AfterEach
  void cleanUp() {
    nodes.close();
    stub.close();
  }

  private long completed() {
    return db.count(
        "select count(distinct persistence_id) from event_journal"
            + " where event_ser_manifest like '%SagaCompleted'");
  }

  @Test
  void everySagaInFlightAtAKillFinishesAfterRestartWithNoEffectAppliedTwice() throws Exception {
    stub.on("/b").delay(Duration.ofSeconds(2));
    Path logs = Files.createDirectories(Path.of("target", "crash-recovery"));
    Path first = logs.resolve("first-node.log");
    Path second = logs.resolve("second-node.log");

    Process victim = nodes.launch(first, stub.baseUrl(), Integer.toString(SAGAS));
    NodeProcesses.awaitLine(victim, first, "STARTED " + SAGAS, Duration.ofSeconds(90));
    stub.awaitCalls("/b", SAGAS / 2, Duration.ofSeconds(60));

    victim.destroyForcibly(); // SIGKILL: no shutdown hook, no graceful leave
    assertThat(victim.waitFor(30, TimeUnit.SECONDS)).isTrue();
    long finishedBeforeCrash = completed();
    int callsBeforeRestart = stub.calls().size();

    Process survivor = nodes.launch(second, stub.baseUrl());
    NodeProcesses.awaitLine(survivor, second, "UP", Duration.ofSeconds(90));
    Instant up = Instant.now();

    Eventually.until(
        "all " + SAGAS + " sagas completed", Duration.ofSeconds(90), () -> completed() == SAGAS);
    Instant allDone = Instant.now();
    var resumed = stub.calls().subList(callsBeforeRestart, stub.calls().size());
    Instant firstResumedCall = resumed.get(0).arrivedAt();
    log.info(
        "{} of {} sagas were in flight at the kill; first call after restart {} ms after UP, all done {} ms after UP",
        SAGAS - finishedBeforeCrash,
        SAGAS,
        Duration.between(up, firstResumedCall).toMillis(),
        Duration.between(up, allDone).toMillis());

    assertThat(finishedBeforeCrash).isLessThan(SAGAS);
    // Woken by the sweep at start, not by the periodic one a minute later: the bound tells the two
    // apart and leaves a loaded machine room (10 s failed once at a load average of 8).
    assertThat(firstResumedCall).isBefore(up.plusSeconds(30));
    assertThat(stub.maxTimesApplied()).isEqualTo(1);
    assertThat(stub.appliedKeys()).hasSize(SAGAS * 3);
    for (int i = 0; i < SAGAS; i++) {
      String id = "crash-" + i;
      assertThat(stub.appliedKeys()).contains(id + "/a", id + "/b", id + "/c");
    }
    assertThat(
            db.count(
                "select count(*) from event_journal where event_ser_manifest like '%StepFailed'"))
        .isZero();
  }
}
