package io.sagaflow.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import org.junit.jupiter.api.Test;

class SagaflowNodeConfigTest {

  /**
   * The API is open unless tokens are set, so by default it, remoting and the management port all
   * listen on loopback only; a deployment binds other addresses on purpose (image, manifests).
   */
  @Test
  void byDefaultANodeListensOnLoopbackOnly() {
    for (String env :
        List.of(
            "SAGAFLOW_HTTP_HOST",
            "SAGAFLOW_REMOTE_HOST",
            "SAGAFLOW_MANAGEMENT_HOST",
            "SAGAFLOW_MANAGEMENT_BIND_HOST")) {
      assumeTrue(System.getenv(env) == null, env + " is set in this build's environment");
    }
    Config config = SagaflowNode.config(ConfigFactory.empty());

    assertThat(config.getString("sagaflow.http.host")).isEqualTo("127.0.0.1");
    assertThat(config.getString("pekko.remote.artery.canonical.hostname")).isEqualTo("127.0.0.1");
    // Empty bind hostnames mean "bind the canonical hostname" (remoting, management alike).
    assertThat(config.getString("pekko.remote.artery.bind.hostname")).isEmpty();
    assertThat(config.getString("pekko.management.http.hostname")).isEqualTo("127.0.0.1");
    assertThat(config.getString("pekko.management.http.bind-hostname")).isEmpty();
  }
}
