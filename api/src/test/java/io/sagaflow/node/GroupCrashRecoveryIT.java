package io.sagaflow.node;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.testing.TestDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node JVM is killed with {@code kill -9} while sagas are in the middle of a parallel group (one
 * branch answered, the other's call out); a new node JVM on the same database calls the branches
 * again with the same idempotency keys and finishes every saga, and no effect is applied twice.
 */
class GroupCrashRecoveryIT {
  private static final Logger log = LoggerFactory.getLogger(GroupCrashRecoveryIT.class);
  private static final int SAGAS = 30;

  private final TestDatabase db = TestDatabase.fresh();
  private final StubParticipant stub = StubParticipant.start();
  private final NodeProcesses nodes = new NodeProcesses(db, CrashTestNode.class);

  @AfterEach
  void cleanUp() {
    nodes.close();
    stub.close();
  }

  private long count(String eventClass) {
    return db.count(
        "select count(*) from event_journal where event_ser_manifest like '%" + eventClass + "'");
  }

  @Test
  void sagasKilledMidGroupFinishAfterRestartWithTheSameKeysAndNoEffectAppliedTwice()
      throws Exception {
    stub.on("/g2").delay(Duration.ofSeconds(2));
    Path logs = Files.createDirectories(Path.of("target", "group-crash-recovery"));
    Path first = logs.resolve("first-node.log");
    Path second = logs.resolve("second-node.log");

    Process victim = nodes.launch(first, stub.baseUrl(), Integer.toString(SAGAS), "crash-group");
    NodeProcesses.awaitLine(victim, first, "STARTED " + SAGAS, Duration.ofSeconds(90));
    // Every saga's g2 call is out (it takes 2 s); most g1 calls have answered.
    stub.awaitCalls("/g2", SAGAS, Duration.ofSeconds(60));
    stub.awaitCalls("/g1", SAGAS, Duration.ofSeconds(60));

    victim.destroyForcibly(); // SIGKILL: no shutdown hook, no graceful leave
    assertThat(victim.waitFor(30, TimeUnit.SECONDS)).isTrue();
    long completedBeforeCrash = completedSagas();
    int callsBeforeRestart = stub.calls().size();
    assertThat(completedBeforeCrash).isLessThan(SAGAS);
    assertThat(count("BranchesStarted")).isEqualTo(SAGAS);

    Process survivor = nodes.launch(second, stub.baseUrl());
    NodeProcesses.awaitLine(survivor, second, "UP", Duration.ofSeconds(90));
    Eventually.until(
        "all " + SAGAS + " sagas completed",
        Duration.ofSeconds(120),
        () -> completedSagas() == SAGAS);

    var resumed = stub.calls().subList(callsBeforeRestart, stub.calls().size());
    log.info(
        "{} calls after the restart; {} sagas had finished before the kill",
        resumed.size(),
        completedBeforeCrash);
    assertThat(resumed)
        .anySatisfy(c -> assertThat(c.path()).isEqualTo("/g2"))
        .allSatisfy(
            c ->
                assertThat(c.idempotencyKey().orElseThrow())
                    .matches("crash-group-[0-9]+/(a|g1|g2|c)"));
    assertThat(stub.maxTimesApplied()).isEqualTo(1);
    assertThat(stub.appliedKeys()).hasSize(SAGAS * 4);
    for (int i = 0; i < SAGAS; i++) {
      String id = "crash-group-" + i;
      assertThat(stub.appliedKeys()).contains(id + "/a", id + "/g1", id + "/g2", id + "/c");
    }
    assertThat(count("BranchFailed") + count("StepFailed") + count("CompensationStarted")).isZero();
  }

  /** Sagas whose last step, c, succeeded: the saga completed. */
  private long completedSagas() {
    return db.count(
        "select count(distinct persistence_id) from event_journal"
            + " where event_ser_manifest like '%SagaCompleted'");
  }
}
