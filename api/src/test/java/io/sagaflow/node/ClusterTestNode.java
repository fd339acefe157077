package io.sagaflow.node;

import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaEngine;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * One node of a three-node cluster in its own JVM, for {@link ClusterFailoverIT}: {@code
 * ClusterTestNode <name>}. Everything else comes from the environment, as for a real node: the
 * database ({@code SAGAFLOW_DB_URL}, ...), the ports ({@code SAGAFLOW_REMOTE_PORT}, {@code
 * SAGAFLOW_MANAGEMENT_PORT}, {@code SAGAFLOW_HTTP_PORT}), the formation ({@code
 * SAGAFLOW_CLUSTER_FORMATION=config}, {@code SAGAFLOW_CLUSTER_CONTACT_POINTS}, {@code
 * SAGAFLOW_REQUIRED_CONTACT_POINTS}) and the participant ({@code
 * SAGAFLOW_PARTICIPANTS_PAYMENTS_URL}).
 *
 * <p>Prints {@code UP <name> <address>} once the node runs. Reads commands on stdin: {@code state
 * <n>} answers {@code STATE <n> <entities> <shards> <id,id,...>}, the saga entities (and shards)
 * this node's shard region hosts right now (a finished saga passivates, so these are the sagas in
 * flight here). SIGTERM stops the node gracefully (coordinated shutdown: it hands its shards over
 * and leaves the cluster); the end of stdin (the test JVM is gone) halts the JVM, so that no node
 * outlives its test.
 */
public final class ClusterTestNode {
  static final String PARTICIPANT = "payments";

  /** Three steps; the test makes the middle one slow, and holds it until it has killed a node. */
  static final SagaDefinition<?> FAILOVER =
      SagaDefinition.builder("failover")
          .defaultRetry(r -> r.minBackoff(Duration.ofMillis(100)).maxBackoff(Duration.ofSeconds(1)))
          // Above the time the test holds the middle step, so that no attempt times out.
          .defaultTimeout(Duration.ofSeconds(120))
          .step(
              Step.named("a")
                  .invoke(HttpCall.post(PARTICIPANT, "/f/a").withBody(ctx -> ctx.input()))
                  .compensateWith(HttpCall.post(PARTICIPANT, "/f/undo-a")))
          .step(
              Step.named("b")
                  .invoke(HttpCall.post(PARTICIPANT, "/f/b").withBody(ctx -> ctx.input()))
                  .compensateWith(HttpCall.post(PARTICIPANT, "/f/undo-b")))
          .step(
              Step.named("c")
                  .invoke(HttpCall.post(PARTICIPANT, "/f/c").withBody(ctx -> ctx.input()))
                  .noCompensation())
          .build();

  static final int ROLLING_STEPS = 8;

  /** {@value #ROLLING_STEPS} steps, each slow: a saga long enough to be in flight at a handover. */
  static final SagaDefinition<?> ROLLING = rolling();

  private ClusterTestNode() {}

  private static SagaDefinition<?> rolling() {
    var builder =
        SagaDefinition.builder("rolling")
            .defaultRetry(
                r -> r.minBackoff(Duration.ofMillis(100)).maxBackoff(Duration.ofSeconds(1)))
            .defaultTimeout(Duration.ofSeconds(30));
    for (int i = 1; i <= ROLLING_STEPS; i++) {
      builder.step(
          Step.named("r" + i)
              .invoke(HttpCall.post(PARTICIPANT, "/r/" + i).withBody(ctx -> ctx.input()))
              .noCompensation());
    }
    return builder.build();
  }

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
    String name = args[0];
    String participantPool = "sagaflow.participant-client.host-connection-pool.";
    var overrides =
        ConfigFactory.parseMap(
            Map.of(
                // The failover test holds every saga's call to the participant open (up to all 300
                // on one node) until it has killed a node: room for all of them in the pool, and no
                // idle connection closed before the step's timeout.
                participantPool + "max-connections",
                320,
                participantPool + "client.idle-timeout",
                "150s"));
    var node = SagaflowNode.start(overrides, List.of(FAILOVER, ROLLING));
    // SIGTERM: Pekko's own JVM hook runs coordinated shutdown too; close() also ends the pools.
    Runtime.getRuntime().addShutdownHook(new Thread(node::close, "cluster-test-node-stop"));
    print("UP " + name + " " + Cluster.get(node.system()).selfMember().address());

    Thread commands = new Thread(() -> serveCommands(node.engine()), "cluster-test-node-commands");
    commands.setDaemon(true);
    commands.start();

    node.system().getWhenTerminated().toCompletableFuture().join();
    print("TERMINATED " + name);
    // After a SIGTERM the JVM is exiting already (this blocks until the hooks are done);
    // otherwise the system ended by itself (downed?) and the node must not linger.
    System.exit(0);
  }

  private static void serveCommands(SagaEngine engine) {
    try (var in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      String line;
      while ((line = in.readLine()) != null) {
        String[] words = line.trim().split("\\s+");
        if (words.length == 2 && words[0].equals("state")) {
          print(state(engine, words[1]));
        }
      }
    } catch (Exception e) {
      e.printStackTrace();
    }
    // The test JVM closed our stdin or died: do not outlive it.
    System.out.println("STDIN CLOSED: halting");
    System.out.flush();
    Runtime.getRuntime().halt(3);
  }

  private static String state(SagaEngine engine, String request) {
    try {
      ShardRegion.CurrentShardRegionState state =
          engine.localShards().toCompletableFuture().get(15, TimeUnit.SECONDS);
      var ids = new TreeSet<String>();
      state.getShards().forEach(shard -> ids.addAll(shard.getEntityIds()));
      return "STATE "
          + request
          + " "
          + ids.size()
          + " "
          + state.getShards().size()
          + " "
          + String.join(",", ids);
    } catch (Exception e) {
      return "STATE " + request + " ERROR " + e;
    }
  }

  private static void print(String line) {
    System.out.println(line);
    System.out.flush();
  }
}
