package io.sagaflow.chaos;

import com.typesafe.config.ConfigFactory;
import io.sagaflow.node.SagaflowNode;
import java.io.IOException;
import java.io.InputStream;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.pekko.cluster.typed.Cluster;

/**
 * One node of a chaos run in its own JVM: {@code Main node <name>}, running {@link
 * ChaosSaga#definition()} through {@link SagaflowNode}, configured from the environment as a real
 * node is ({@code SAGAFLOW_DB_URL}, {@code SAGAFLOW_REMOTE_PORT}, {@code SAGAFLOW_MANAGEMENT_PORT},
 * {@code SAGAFLOW_HTTP_PORT}, {@code SAGAFLOW_CLUSTER_FORMATION=config}, {@code
 * SAGAFLOW_CLUSTER_CONTACT_POINTS}, {@code SAGAFLOW_REQUIRED_CONTACT_POINTS}, {@code
 * SAGAFLOW_PARTICIPANTS_ALPHA_URL}, ...), every address on loopback.
 *
 * <p>{@value #BIND_PORT_ENV}, when set, is the port remoting really binds: {@code
 * SAGAFLOW_REMOTE_PORT} is then the canonical port the others dial, the runner's proxy in front of
 * this node (see {@code run/RemotingProxy}).
 *
 * <p>Prints {@code UP <name> <address>} once the node runs. Exits with 1 when its actor system
 * terminates by itself (e.g. the Split Brain Resolver downed it), so that the runner restarts it;
 * SIGTERM stops it gracefully (exit 0 once coordinated shutdown is done); the end of stdin (the
 * runner is gone) halts it with 3, so that no node outlives its run.
 */
public final class ChaosNode {
  /** The port remoting binds, behind the canonical port ({@code SAGAFLOW_REMOTE_PORT}). */
  public static final String BIND_PORT_ENV = "CHAOS_REMOTE_BIND_PORT";

  /** The exit code of a node whose actor system ended by itself. */
  public static final int EXIT_TERMINATED = 1;

  private static final String LOOPBACK = "127.0.0.1";

  private ChaosNode() {}

  public static void main(String[] args) {
    try {
      run(args.length == 0 ? "node" : args[0]);
    } catch (Throwable e) {
      e.printStackTrace();
      System.out.flush();
      // Pekko's threads would keep a broken node JVM alive; the runner must see it die.
      Runtime.getRuntime().halt(EXIT_TERMINATED);
    }
  }

  private static void run(String name) {
    watchStdin();
    Map<String, Object> overrides = new HashMap<>();
    // Loopback whatever the environment says: a chaos run never listens beyond this machine.
    overrides.put("sagaflow.http.host", LOOPBACK);
    overrides.put("pekko.management.http.hostname", LOOPBACK);
    overrides.put("pekko.remote.artery.canonical.hostname", LOOPBACK);
    String bindPort = System.getenv(BIND_PORT_ENV);
    if (bindPort != null && !bindPort.isBlank()) {
      overrides.put("pekko.remote.artery.bind.hostname", LOOPBACK);
      overrides.put("pekko.remote.artery.bind.port", Integer.parseInt(bindPort.trim()));
    }
    var node =
        SagaflowNode.start(
            ConfigFactory.parseMap(overrides), System.getenv(), List.of(ChaosSaga.definition()));
    AtomicBoolean signalled = new AtomicBoolean();
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  signalled.set(true);
                  node.close();
                },
                "chaos-node-stop"));
    print("UP " + name + " " + Cluster.get(node.system()).selfMember().address());
    node.system().getWhenTerminated().toCompletableFuture().join();
    print("TERMINATED " + name + (signalled.get() ? " (SIGTERM)" : " (by itself)"));
    if (!signalled.get()) {
      // Downed, or the system failed: not a node any more, and the runner must see it exit.
      Runtime.getRuntime().halt(EXIT_TERMINATED);
    }
    // After SIGTERM the JVM is exiting already; returning lets the shutdown hooks finish.
  }

  /** The runner keeps our stdin open for as long as it lives; its end means it is gone. */
  private static void watchStdin() {
    Thread watcher =
        new Thread(
            () -> {
              try {
                InputStream in = System.in;
                byte[] buffer = new byte[256];
                while (in.read(buffer) >= 0) {
                  // nothing is read from the runner; only the end matters
                }
              } catch (IOException e) {
                // same as the end
              }
              print("STDIN CLOSED: halting");
              Runtime.getRuntime().halt(3);
            },
            "chaos-node-stdin");
    watcher.setDaemon(true);
    watcher.start();
  }

  private static void print(String line) {
    System.out.println(line);
    System.out.flush();
  }
}
