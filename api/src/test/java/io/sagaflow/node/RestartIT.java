package io.sagaflow.node;

import static io.sagaflow.node.TestNodes.awaitStatus;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.testing.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A node stops mid-saga and a new one starts on the same database: the saga finishes by itself,
 * with the same idempotency key, and its effect is applied once.
 */
class RestartIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final Duration BACKOFF = Duration.ofSeconds(4);

  private static final SagaDefinition<?> TRANSFER =
      SagaDefinition.builder("transfer")
          .defaultRetry(r -> r.minBackoff(BACKOFF).maxBackoff(BACKOFF).jitter(0))
          .defaultTimeout(Duration.ofSeconds(20))
          .step(
              Step.named("debit")
                  .invoke(HttpCall.post("payments", "/debit").withBody(ctx -> ctx.input()))
                  .noCompensation())
          .step(
              Step.named("credit")
                  .invoke(HttpCall.post("payments", "/credit").withBody(ctx -> ctx.input()))
                  .noCompensation())
          .build();

  private final TestDatabase db = TestDatabase.fresh();
  private final StubParticipant stub = StubParticipant.start();
  private SagaflowNode node;

  @BeforeEach
  void startNode() {
    node = TestNodes.start(db, stub.baseUrl(), List.of(TRANSFER));
  }

  @AfterEach
  void stop() {
    node.close();
    stub.close();
  }

  private void start(String sagaId) {
    node.engine()
        .start(sagaId, "transfer", null, new ObjectMapper().createObjectNode().put("amount", 5))
        .toCompletableFuture()
        .join();
  }

  private void restartNode() {
    node.close();
    node = TestNodes.start(db, stub.baseUrl(), List.of(TRANSFER));
  }

  @Test
  void stepInFlightIsCalledAgainWithTheSameKeyAfterRestartAndAppliedOnce() {
    stub.on("/debit").delay(Duration.ofSeconds(2));
    start("in-flight");
    stub.awaitCalls("/debit", 1, WAIT);

    restartNode();

    awaitStatus(node, "in-flight", SagaStatus.COMPLETED, WAIT);
    var debits = stub.calls("/debit");
    assertThat(debits).hasSizeBetween(1, 2);
    assertThat(debits).allSatisfy(c -> assertThat(c.idempotencyKey()).contains("in-flight/debit"));
    assertThat(stub.timesApplied("in-flight/debit")).isEqualTo(1);
    assertThat(stub.timesApplied("in-flight/credit")).isEqualTo(1);
  }

  @Test
  void backoffContinuesFromItsPersistedDueTimeAfterRestart() {
    stub.on("/debit").failTimes(1, 503);
    start("backing-off");
    stub.awaitCalls("/debit", 1, WAIT);
    String query =
        "select convert_from(event_payload, 'UTF8')::jsonb ->> 'retryAt' from event_journal"
            + " where persistence_id = 'saga|backing-off' and sequence_number = 2";
    Eventually.until(
        "the failed attempt is written",
        WAIT,
        () ->
            db.count("select count(*) from event_journal where persistence_id = 'saga|backing-off'")
                >= 2);
    Instant due = Instant.parse(db.scalar(query));

    restartNode();
    Instant restarted = Instant.now();

    awaitStatus(node, "backing-off", SagaStatus.COMPLETED, WAIT);
    var retry = stub.calls("/debit").get(1);
    assertThat(retry.idempotencyKey()).contains("backing-off/debit");
    assertThat(retry.arrivedAt()).isAfterOrEqualTo(due);
    // Not a fresh backoff counted from the restart: the persisted due time was kept.
    assertThat(retry.arrivedAt()).isBefore(restarted.plus(BACKOFF));
    assertThat(stub.timesApplied("backing-off/debit")).isEqualTo(1);
  }
}
