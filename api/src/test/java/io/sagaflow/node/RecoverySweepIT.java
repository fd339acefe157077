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
 * How sagas resume after their node stopped: the recovery sweep, when the node starts again, wakes
 * every saga the index lists as unfinished, after waiting until the index has caught up with the
 * journal. Sagas are not remembered by sharding, so nothing else would wake them: the periodic
 * sweep is set to an hour here.
 */
class RecoverySweepIT {
  private static final Duration WAIT = Duration.ofSeconds(30);

  private static final SagaDefinition<?> SLOW =
      SagaDefinition.builder("slow")
          .defaultTimeout(Duration.ofSeconds(20))
          .step(Step.named("work").invoke(HttpCall.post("payments", "/work")).noCompensation())
          .step(Step.named("finish").invoke(HttpCall.post("payments", "/finish")).noCompensation())
          .build();

  @Test
  void sweepAtStartResumesUnfinishedSagasIncludingOnesTheIndexHadNotSeen() {
    TestDatabase db = TestDatabase.fresh();
    try (StubParticipant stub = StubParticipant.start()) {
      var config =
          ConfigFactory.parseMap(Map.of("sagaflow.recovery.sweep-interval", "1h"))
              .withFallback(TestNodes.config(stub.baseUrl()));
      stub.on("/work").delay(Duration.ofSeconds(2));
      var node = SagaflowNode.start(config, TestNodes.env(db), List.of(SLOW));
      for (String id : List.of("lost-1", "unindexed-1")) {
        node.engine()
            .start(id, "slow", null, new ObjectMapper().createObjectNode())
            .toCompletableFuture()
            .join();
      }
      stub.awaitCalls("/work", 2, WAIT);
      Eventually.until(
          "the index lists both sagas as running",
          WAIT,
          () -> db.count("select count(*) from saga_index where status = 'RUNNING'") == 2);
      node.close();
      // As if the node had crashed before the projection applied unindexed-1's start: the row is
      // gone and the projection's offsets point before it.
      db.execute("delete from saga_index where saga_id = 'unindexed-1'");
      db.execute("update pekko_projection_offset_store set current_offset = '0'");

      node = SagaflowNode.start(config, TestNodes.env(db), List.of(SLOW));
      try {
        // Watched in the journal: asking the saga itself would wake it.
        Eventually.until(
            "both sagas completed",
            WAIT,
            () ->
                db.count(
                        "select count(*) from event_journal where persistence_id in"
                            + " ('saga|lost-1', 'saga|unindexed-1')"
                            + " and event_ser_manifest like '%SagaCompleted'")
                    == 2);
        assertThat(stub.timesApplied("lost-1/finish")).isEqualTo(1);
        assertThat(stub.timesApplied("unindexed-1/finish")).isEqualTo(1);
      } finally {
        node.close();
      }
    }
  }
}
