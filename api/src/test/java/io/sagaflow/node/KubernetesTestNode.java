package io.sagaflow.node;

import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * A node in its own JVM, configured as a pod of k8s/base/deployment.yaml would be, for {@link
 * KubernetesDiscoveryIT}: {@code KubernetesTestNode <pod name>}. Everything comes from the
 * environment and system properties the test sets, as in a pod: the formation ({@code
 * SAGAFLOW_CLUSTER_FORMATION=kubernetes}), the Kubernetes API ({@code KUBERNETES_SERVICE_HOST},
 * {@code KUBERNETES_SERVICE_PORT}, the service account files), the ports, the database and the
 * participant ({@code SAGAFLOW_PARTICIPANTS_PAYMENTS_URL}).
 *
 * <p>Prints {@code UP <pod> <address>} once the node runs. The end of stdin (the test JVM is gone)
 * halts the JVM, so that no node outlives its test.
 */
public final class KubernetesTestNode {
  static final String PARTICIPANT = "payments";

  /** Two steps on the stub participant: a saga that completes by itself. */
  static final SagaDefinition<?> DISCOVERED =
      SagaDefinition.builder("discovered")
          .defaultRetry(r -> r.minBackoff(Duration.ofMillis(100)).maxBackoff(Duration.ofSeconds(1)))
          .defaultTimeout(Duration.ofSeconds(30))
          .step(
              Step.named("reserve")
                  .invoke(HttpCall.post(PARTICIPANT, "/k8s/reserve").withBody(ctx -> ctx.input()))
                  .compensateWith(HttpCall.post(PARTICIPANT, "/k8s/release")))
          .step(
              Step.named("confirm")
                  .invoke(HttpCall.post(PARTICIPANT, "/k8s/confirm").withBody(ctx -> ctx.input()))
                  .noCompensation())
          .build();

  private KubernetesTestNode() {}

  public static void main(String[] args) {
    try {
      run(args);
    } catch (Throwable e) {
      e.printStackTrace();
      // Pekko's threads would keep a broken node JVM alive; the test must see it die.
      Runtime.getRuntime().halt(1);
    }
  }

  private static void run(String[] args) {
    String pod = args[0];
    Thread watchdog = new Thread(KubernetesTestNode::haltAtEndOfStdin, "kubernetes-node-stdin");
    watchdog.setDaemon(true);
    watchdog.start();

    // Three nodes, the test JVM and PostgreSQL share two cores: smaller pools than a real node's,
    // and more time to wait for the other two pods than a node on its own machine needs.
    String pool =
        "sagaflow.persistence.plugin-config.pekko-persistence-jdbc.shared-databases.slick.db.";
    var overrides =
        ConfigFactory.parseMap(
            Map.of(
                pool + "numThreads",
                8,
                pool + "maxConnections",
                8,
                pool + "minConnections",
                1,
                "sagaflow.index.projection-connections",
                2,
                "sagaflow.index.read-connections",
                2,
                "sagaflow.node.startup-timeout",
                "150s"));
    var node = SagaflowNode.start(overrides, List.of(DISCOVERED));
    Runtime.getRuntime().addShutdownHook(new Thread(node::close, "kubernetes-node-stop"));
    System.out.println("UP " + pod + " " + Cluster.get(node.system()).selfMember().address());
    System.out.flush();
    node.system().getWhenTerminated().toCompletableFuture().join();
    System.out.println("TERMINATED " + pod);
    System.out.flush();
    System.exit(0);
  }

  private static void haltAtEndOfStdin() {
    try {
      InputStream in = System.in;
      while (in.read() >= 0) {
        // the test sends nothing; only the end of the stream matters
      }
    } catch (IOException e) {
      // as good as the end of the stream
    }
    System.out.println("STDIN CLOSED: halting");
    System.out.flush();
    Runtime.getRuntime().halt(3);
  }
}
