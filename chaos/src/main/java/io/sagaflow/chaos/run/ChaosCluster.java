package io.sagaflow.chaos.run;

import io.sagaflow.persistence.DatabaseSettings;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The run's three node JVMs on loopback: every port allocated up front (the contact points must be
 * known before the first node starts), each node behind its own {@link RemotingProxy}.
 */
final class ChaosCluster implements AutoCloseable {
  /** Failure detection, SBR and a JVM start on a loaded 2-core machine. */
  static final Duration START_DEADLINE = Duration.ofSeconds(180);

  private final List<NodeProcess> nodes = new ArrayList<>();
  private final List<String> javaCommand;
  private final Map<String, String> env = new HashMap<>();
  private final Consumer<String> progress;

  ChaosCluster(
      int size,
      Path runDir,
      List<String> javaCommand,
      DatabaseSettings db,
      String participantUrl,
      HttpClient http,
      Consumer<String> progress) {
    this.javaCommand = javaCommand;
    this.progress = progress;
    int[] ports = freePorts(4 * size);
    var contactPoints = new ArrayList<String>();
    for (int i = 0; i < size; i++) {
      var node =
          new NodeProcess(
              "node" + (i + 1),
              ports[4 * i],
              ports[4 * i + 1],
              ports[4 * i + 2],
              ports[4 * i + 3],
              runDir,
              http);
      nodes.add(node);
      contactPoints.add("127.0.0.1:" + node.managementPort);
    }
    env.put(DatabaseSettings.URL_ENV, db.url());
    env.put(DatabaseSettings.USER_ENV, db.user());
    env.put(DatabaseSettings.PASSWORD_ENV, db.password());
    env.put("SAGAFLOW_CLUSTER_FORMATION", "config");
    env.put("SAGAFLOW_CLUSTER_CONTACT_POINTS", String.join(",", contactPoints));
    env.put("SAGAFLOW_REQUIRED_CONTACT_POINTS", Integer.toString(size));
    for (String participant : io.sagaflow.chaos.ChaosSaga.PARTICIPANTS) {
      env.put(
          "SAGAFLOW_PARTICIPANTS_" + participant.toUpperCase(Locale.ROOT) + "_URL", participantUrl);
    }
  }

  List<NodeProcess> nodes() {
    return List.copyOf(nodes);
  }

  NodeProcess node(int i) {
    return nodes.get(i);
  }

  int size() {
    return nodes.size();
  }

  void start(NodeProcess node) {
    node.start(javaCommand, env);
    progress.accept(
        node.name + " incarnation " + node.incarnation() + " starting (pid " + node.pid() + ")");
  }

  /** Starts every node that does not run. */
  List<NodeProcess> startMissing() {
    var started = new ArrayList<NodeProcess>();
    for (NodeProcess node : nodes) {
      if (!node.alive()) {
        start(node);
        started.add(node);
      }
    }
    return started;
  }

  /**
   * Whether every node runs, is ready and sees all of them Up, none unreachable. A node that has
   * exited (downed, or failed to start) is started again, through {@code onRestart}.
   */
  boolean whole(Consumer<NodeProcess> onRestart) {
    boolean whole = true;
    for (NodeProcess node : nodes) {
      if (!node.alive()) {
        progress.accept(
            node.name
                + " exited with "
                + node.exitCode().map(String::valueOf).orElse("?")
                + "; restarting it");
        start(node);
        onRestart.accept(node);
        whole = false;
      }
    }
    if (!whole) {
      return false;
    }
    for (NodeProcess node : nodes) {
      if (!node.up() || node.readyStatus() != 200) {
        return false;
      }
      Optional<NodeProcess.Membership> m = node.membership();
      if (m.isEmpty()
          || !m.get().unreachable().isEmpty()
          || !m.get().up().containsAll(nodes.stream().map(NodeProcess::address).toList())
          || m.get().up().size() != nodes.size()) {
        return false;
      }
    }
    return true;
  }

  /** Waits until {@link #whole}; false at the deadline. */
  boolean awaitWhole(Duration deadline, Consumer<NodeProcess> onRestart) {
    return Await.condition(() -> whole(onRestart), deadline, Duration.ofMillis(500));
  }

  @Override
  public void close() {
    for (NodeProcess node : nodes) {
      node.terminate(Duration.ofSeconds(20));
    }
    for (NodeProcess node : nodes) {
      node.proxy().close();
    }
  }

  /** Distinct free ports: all sockets are held open until every port is known. */
  static int[] freePorts(int n) {
    var sockets = new ArrayList<ServerSocket>();
    try {
      for (int i = 0; i < n; i++) {
        sockets.add(new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress()));
      }
      return sockets.stream().mapToInt(ServerSocket::getLocalPort).toArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } finally {
      for (ServerSocket s : sockets) {
        try {
          s.close();
        } catch (IOException e) {
          // freed anyway when the JVM ends
        }
      }
    }
  }
}
