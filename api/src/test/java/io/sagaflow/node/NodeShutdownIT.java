package io.sagaflow.node;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.spi.ILoggingEvent;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.history.SagaHistory;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.LogCapture;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.index.SagaIndexProjection;
import io.sagaflow.persistence.testing.TestDatabase;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.cluster.sharding.ClusterSharding;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.pattern.Patterns;
import org.junit.jupiter.api.Test;

/**
 * A node that is the only member of its cluster stops without waiting out a shard hand-off: the
 * index's keep-alive pings, sent here every 10 ms so that some reach the region while it hands its
 * shards off, are stopped before it does (they were buffered for a next home that the only node
 * cannot name, and the region waited for its timeout, logging a WARN, as a CI run saw).
 */
class NodeShutdownIT {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @Test
  void theOnlyNodeHandsItsIndexShardsOffWithoutTimingOut() throws Exception {
    TestDatabase db = TestDatabase.fresh();
    try (StubParticipant stub = StubParticipant.start()) {
      SagaflowNode node =
          SagaflowNode.start(
              ConfigFactory.parseMap(
                      Map.of("pekko.cluster.sharded-daemon-process.keep-alive-interval", "10ms"))
                  .withFallback(TestNodes.config(stub.baseUrl())),
              TestNodes.env(db),
              List.of());
      var region =
          ClusterSharding.get(node.system().classicSystem())
              .shardRegion("sharded-daemon-process-" + SagaIndexProjection.PROJECTION_NAME);
      Eventually.await(
          "every index projection running on the node",
          WAIT,
          () -> {
            var state =
                (ShardRegion.CurrentShardRegionState)
                    Patterns.ask(
                            region,
                            ShardRegion.getShardRegionStateInstance(),
                            Duration.ofSeconds(5))
                        .toCompletableFuture()
                        .join();
            return state.getShards().stream().filter(s -> !s.getEntityIds().isEmpty()).count()
                == SagaHistory.INDEX_TAGS.size();
          });

      List<ILoggingEvent> warnings;
      try (LogCapture logs = LogCapture.start()) {
        node.close();
        warnings =
            logs.events().stream().filter(e -> e.getLevel().isGreaterOrEqual(Level.WARN)).toList();
      }

      assertThat(warnings)
          .extracting(ILoggingEvent::getFormattedMessage)
          .as("what the node warned of while it stopped")
          .isEmpty();
    }
  }
}
