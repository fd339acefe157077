package io.sagaflow.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.testing.TestDatabase;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The safety net: a saga whose remembered-entity records are gone (say, a lost remember store) is
 * still resumed, by the sweep of the saga index.
 */
class RecoverySweepIT {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private static final SagaDefinition SLOW =
      SagaDefinition.builder("slow")
          .defaultTimeout(Duration.ofSeconds(20))
          .step(Step.named("work").invoke(HttpCall.post("payments", "/work")))
          .step(Step.named("finish").invoke(HttpCall.post("payments", "/finish")))
          .build();

  @Test
  void sweepResumesAnUnfinishedSagaThatNoRememberedEntityWouldWake() {
    TestDatabase db = TestDatabase.fresh();
    try (StubParticipant stub = StubParticipant.start()) {
      var config =
          ConfigFactory.parseMap(
                  Map.of(
                      "sagaflow.recovery.sweep-initial-delay",
                      "1s",
                      "sagaflow.recovery.sweep-interval",
                      "1s"))
              .withFallback(TestNodes.config(stub.baseUrl()));
      stub.on("/work").delay(Duration.ofSeconds(2));
      var node = SagaflowNode.start(config, TestNodes.env(db), List.of(SLOW));
      node.engine()
          .start("lost-1", "slow", null, new ObjectMapper().createObjectNode())
          .toCompletableFuture()
          .join();
      stub.awaitCalls("/work", 1, WAIT);
      Eventually.until(
          "the index lists the saga as running",
          WAIT,
          () ->
              db.count(
                      "select count(*) from saga_index where saga_id = 'lost-1' and status = 'RUNNING'")
                  == 1);
      node.close();
      db.execute("delete from event_journal where persistence_id like '/sharding/%'");

      node = SagaflowNode.start(config, TestNodes.env(db), List.of(SLOW));
      try {
        // Watched in the journal: asking the saga itself would wake it.
        Eventually.until(
            "lost-1 completed",
            WAIT,
            () ->
                db.count(
                        "select count(*) from event_journal where persistence_id = 'saga|lost-1'"
                            + " and event_ser_manifest like '%SagaCompleted'")
                    == 1);
        assertThat(stub.timesApplied("lost-1/finish")).isEqualTo(1);
      } finally {
        node.close();
      }
    }
  }
}
