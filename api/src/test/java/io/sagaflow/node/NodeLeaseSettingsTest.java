package io.sagaflow.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class NodeLeaseSettingsTest {

  @Test
  void theNodesDefaultsLetTheLeaseExpireBeforeTheClusterCanDownASilentNode() {
    var config = SagaflowNode.config(ConfigFactory.empty());
    var settings = NodeLease.Settings.fromConfig(config);

    Duration downedAfter = NodeLease.Settings.leastTimeToDown(config);
    assertThat(downedAfter).isEqualTo(Duration.ofMillis(4500));
    assertThat(settings.ttl().plus(settings.renewInterval())).isLessThan(downedAfter);
    // auto: a second below the least time to down, and never below the ttl.
    assertThat(settings.pauseLimit()).isEqualTo(Duration.ofMillis(3500));
  }

  @Test
  void aLeaseThatWouldOutliveTheFailureDetectorIsRefusedAtStart() {
    var config =
        SagaflowNode.config(ConfigFactory.parseMap(Map.of("sagaflow.node.lease.ttl", "4600ms")));

    assertThatThrownBy(() -> NodeLease.Settings.fromConfig(config))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("sagaflow.node.lease.ttl + renew-interval (PT5.1S)")
        .hasMessageContaining("stable-after = PT4.5S");
  }

  @Test
  void aPauseLimitBelowTheTtlIsRaisedToIt() {
    var config =
        SagaflowNode.config(
            ConfigFactory.parseMap(Map.of("sagaflow.node.lease.pause-limit", "1s")));

    assertThat(NodeLease.Settings.fromConfig(config).pauseLimit())
        .isEqualTo(Duration.ofMillis(3500));
  }
}
