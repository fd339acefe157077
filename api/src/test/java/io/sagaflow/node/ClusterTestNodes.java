package io.sagaflow.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.ProcessSignals;
import io.sagaflow.persistence.testing.TestDatabase;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A cluster of {@link ClusterTestNode} JVMs on loopback for {@link ClusterFailoverIT}: every port
 * is allocated up front (the contact points must be known before the first node starts), each node
 * keeps its ports across restarts, and each incarnation's output goes to {@code
 * target/cluster/<prefix>-<node>-<incarnation>.log}.
 */
final class ClusterTestNodes implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ClusterTestNodes.class);
  static final Path LOGS = Path.of("target", "cluster");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Charset UTF_8 = StandardCharsets.UTF_8;

  private final TestDatabase db;
  private final String participantsUrl;
  private final String prefix;
  private final String contactPoints;
  private final Path logbackConfig;
  private final List<Node> nodes = new ArrayList<>();
  private final List<Path> logFiles = new ArrayList<>();
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();

  /**
   * Whether each node reaches the participant under its own path prefix ({@code <url>/node1}, ...),
   * so that the participant can tell which node sent a call.
   */
  private boolean participantPathPerNode;

  private final Map<String, String> nodeSettings = new LinkedHashMap<>();

  ClusterTestNodes withParticipantPathPerNode() {
    participantPathPerNode = true;
    return this;
  }

  /** Every node incarnation started from now on runs with {@code key = value} in its config. */
  ClusterTestNodes withNodeSetting(String key, String value) {
    nodeSettings.put(key, value);
    return this;
  }

  /** POSTs {@code json} to {@code path} of the node's HTTP API and returns the answer. */
  HttpResponse<String> postJson(Node node, String path, String json, Duration timeout) {
    try {
      return http.send(
          HttpRequest.newBuilder(node.api(path))
              .timeout(timeout)
              .header("Content-Type", "application/json")
              .POST(HttpRequest.BodyPublishers.ofString(json))
              .build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException("POST " + path + " through " + node, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  ClusterTestNodes(int size, TestDatabase db, String participantsUrl, String prefix) {
    this.db = db;
    this.participantsUrl = participantsUrl;
    this.prefix = prefix;
    int[] ports = freePorts(3 * size);
    var points = new ArrayList<String>();
    for (int i = 0; i < size; i++) {
      var node = new Node("node" + i, ports[3 * i], ports[3 * i + 1], ports[3 * i + 2]);
      nodes.add(node);
      points.add("127.0.0.1:" + node.managementPort);
    }
    this.contactPoints = String.join(",", points);
    try {
      Files.createDirectories(LOGS);
      this.logbackConfig = LOGS.resolve("logback-node.xml").toAbsolutePath();
      Files.writeString(logbackConfig, LOGBACK);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Membership, SBR and sharding at INFO: the story of a failover, readable afterwards. */
  private static final String LOGBACK =
      """
      <configuration>
        <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
          <encoder>
            <pattern>%d{HH:mm:ss.SSS} %-5level [%X{sagaId}] %logger{36} - %msg%n</pattern>
          </encoder>
        </appender>
        <logger name="io.sagaflow" level="INFO"/>
        <logger name="org.apache.pekko" level="WARN"/>
        <logger name="org.apache.pekko.cluster" level="INFO"/>
        <logger name="org.apache.pekko.management.cluster.bootstrap" level="INFO"/>
        <root level="WARN">
          <appender-ref ref="STDOUT"/>
        </root>
      </configuration>
      """;

  /** Distinct free ports: all sockets are held open until every port is known. */
  static int[] freePorts(int n) {
    var sockets = new ArrayList<ServerSocket>();
    try {
      for (int i = 0; i < n; i++) {
        sockets.add(new ServerSocket(0));
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

  List<Node> nodes() {
    return List.copyOf(nodes);
  }

  Node node(int i) {
    return nodes.get(i);
  }

  List<Node> running() {
    return nodes.stream().filter(Node::alive).toList();
  }

  /** Every log file any incarnation of any node wrote so far. */
  synchronized List<Path> logFiles() {
    return List.copyOf(logFiles);
  }

  /** Starts every node that is not running, without waiting for it. */
  void startMissing() {
    for (Node node : nodes) {
      if (!node.alive()) {
        node.start();
      }
    }
  }

  /**
   * Waits until every node runs, is ready ({@code /ready} on its management port) and sees all of
   * them as Up members, none unreachable.
   */
  void awaitFormed(Duration deadline) {
    Eventually.until(
        "a cluster of " + nodes.size() + " Up members, seen alike by every node",
        deadline,
        throttled(
            Duration.ofMillis(500),
            () -> {
              for (Node node : nodes) {
                node.requireAlive();
              }
              for (Node node : nodes) {
                if (!node.ready()) {
                  return false;
                }
                Membership m = node.membership();
                if (m.up().size() != nodes.size() || !m.unreachable().isEmpty()) {
                  return false;
                }
              }
              return true;
            }));
  }

  @Override
  public void close() {
    for (Node node : nodes) {
      node.destroy();
    }
  }

  /**
   * Starts sagas through the given nodes' HTTP APIs, round robin, with {@code parallelism} requests
   * at a time. A start whose outcome is unknown (a 5xx, a lost connection) is sent again with the
   * same id, through the next node, as a client would; 200 (replayed) counts as started.
   *
   * @return the node each saga was started through
   */
  Map<String, Node> startSagas(
      List<String> ids, String type, List<Node> via, int parallelism, Duration deadline) {
    ExecutorService pool = Executors.newFixedThreadPool(parallelism);
    try {
      var futures = new LinkedHashMap<String, Future<Node>>();
      for (int i = 0; i < ids.size(); i++) {
        String id = ids.get(i);
        int first = i;
        futures.put(id, pool.submit(() -> startSaga(id, type, first, via, deadline)));
      }
      var started = new LinkedHashMap<String, Node>();
      for (var e : futures.entrySet()) {
        started.put(e.getKey(), e.getValue().get(deadline.toSeconds() + 30, TimeUnit.SECONDS));
      }
      return started;
    } catch (Exception e) {
      throw new AssertionError("starting " + ids.size() + " sagas failed: " + e, e);
    } finally {
      pool.shutdownNow();
    }
  }

  private Node startSaga(String id, String type, int first, List<Node> via, Duration deadline) {
    String body =
        JSON.createObjectNode()
            .put("type", type)
            .put("id", id)
            .set("input", JSON.createObjectNode().put("saga", id))
            .toString();
    var attempt = new AtomicInteger(first);
    var lastProblem = new StringBuilder("none yet");
    try {
      return Eventually.await(
          "start of " + id,
          deadline,
          () -> {
            Node node = via.get(Math.floorMod(attempt.getAndIncrement(), via.size()));
            HttpRequest request =
                HttpRequest.newBuilder(node.api("/v1/sagas"))
                    .timeout(Duration.ofSeconds(30))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body))
                    .build();
            String problem;
            try {
              HttpResponse<String> response =
                  http.send(request, HttpResponse.BodyHandlers.ofString());
              int status = response.statusCode();
              if (status == 200 || status == 201) {
                return node;
              }
              if (status < 500) {
                // An Error, not an exception: Eventually gives up at once.
                throw new AssertionError(
                    "start of " + id + " through " + node + ": " + status + " " + response.body());
              }
              problem = status + " " + response.body();
            } catch (IOException e) {
              problem = e.toString();
            } catch (InterruptedException e) {
              Thread.currentThread().interrupt();
              throw new IllegalStateException(e);
            }
            synchronized (lastProblem) {
              lastProblem.setLength(0);
              lastProblem.append(node).append(": ").append(problem);
            }
            return null;
          });
    } catch (AssertionError e) {
      synchronized (lastProblem) {
        throw new AssertionError(e.getMessage() + "; last answer: " + lastProblem, e);
      }
    }
  }

  /** GET {@code path} from the node's HTTP API: the JSON body of a 200. */
  JsonNode getJson(Node node, String path) {
    try {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(node.api(path)).timeout(Duration.ofSeconds(30)).build(),
              HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        throw new AssertionError(
            "GET "
                + path
                + " through "
                + node
                + ": "
                + response.statusCode()
                + " "
                + response.body());
      }
      return JSON.readTree(response.body());
    } catch (IOException e) {
      throw new UncheckedIOException("GET " + path + " through " + node, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * {@code check}, but asked at most once per {@code interval}: a poll that costs an HTTP call or a
   * query need not run every 10 ms.
   */
  static Supplier<Boolean> throttled(Duration interval, Supplier<Boolean> check) {
    var last = new long[] {System.nanoTime() - interval.toNanos()};
    return () -> {
      long now = System.nanoTime();
      if (now - last[0] < interval.toNanos()) {
        return false;
      }
      last[0] = now;
      return check.get();
    };
  }

  /** Members by status as one node sees them. */
  record Membership(Map<String, String> statusByAddress, Set<String> unreachable) {
    Set<String> up() {
      return statusByAddress.entrySet().stream()
          .filter(e -> e.getValue().equals("Up"))
          .map(Map.Entry::getKey)
          .collect(Collectors.toSet());
    }
  }

  /** One node: its fixed ports and its current incarnation. */
  final class Node {
    final String name;
    final int remotePort;
    final int managementPort;
    final int httpPort;
    private volatile Process process;
    private volatile Writer stdin;
    private final List<String> lines = new ArrayList<>();
    private int incarnation;
    private final AtomicInteger requests = new AtomicInteger();

    private Node(String name, int remotePort, int managementPort, int httpPort) {
      this.name = name;
      this.remotePort = remotePort;
      this.managementPort = managementPort;
      this.httpPort = httpPort;
    }

    /** {@code pekko://sagaflow@127.0.0.1:<remote port>}, as members are listed. */
    String address() {
      return "pekko://sagaflow@127.0.0.1:" + remotePort;
    }

    URI api(String path) {
      return URI.create("http://127.0.0.1:" + httpPort + path);
    }

    URI management(String path) {
      return URI.create("http://127.0.0.1:" + managementPort + path);
    }

    boolean alive() {
      Process p = process;
      return p != null && p.isAlive();
    }

    void requireAlive() {
      Process p = process;
      if (p == null) {
        throw new AssertionError(name + " was never started");
      }
      if (!p.isAlive()) {
        throw new AssertionError(name + " exited with " + p.exitValue() + "; see " + logFile());
      }
    }

    /** Starts a new incarnation (same ports) and returns at once. */
    synchronized void start() {
      if (alive()) {
        throw new IllegalStateException(name + " is running already");
      }
      incarnation++;
      Path file = logFile();
      synchronized (ClusterTestNodes.this) {
        logFiles.add(file);
      }
      var command = new ArrayList<String>();
      command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      command.addAll(
          List.of(
              "-Xmx384m",
              "-XX:+UseSerialGC",
              "-XX:TieredStopAtLevel=1",
              "-Dlogback.configurationFile=" + logbackConfig));
      nodeSettings.forEach((key, value) -> command.add("-D" + key + "=" + value));
      command.addAll(
          List.of(
              "-cp", System.getProperty("java.class.path"), ClusterTestNode.class.getName(), name));
      var builder = new ProcessBuilder(command).redirectErrorStream(true);
      Map<String, String> env = builder.environment();
      env.keySet().removeIf(k -> k.startsWith("SAGAFLOW_"));
      env.put(DatabaseSettings.URL_ENV, db.jdbcUrl());
      env.put(DatabaseSettings.USER_ENV, db.user());
      env.put(DatabaseSettings.PASSWORD_ENV, db.password());
      env.put("SAGAFLOW_REMOTE_PORT", Integer.toString(remotePort));
      env.put("SAGAFLOW_MANAGEMENT_PORT", Integer.toString(managementPort));
      env.put("SAGAFLOW_HTTP_HOST", "127.0.0.1");
      env.put("SAGAFLOW_HTTP_PORT", Integer.toString(httpPort));
      env.put("SAGAFLOW_CLUSTER_FORMATION", "config");
      env.put("SAGAFLOW_CLUSTER_CONTACT_POINTS", contactPoints);
      env.put("SAGAFLOW_REQUIRED_CONTACT_POINTS", Integer.toString(nodes.size()));
      env.put(
          "SAGAFLOW_PARTICIPANTS_PAYMENTS_URL",
          participantPathPerNode ? participantsUrl + "/" + name : participantsUrl);
      synchronized (lines) {
        lines.clear();
      }
      try {
        Process p = builder.start();
        process = p;
        stdin = new BufferedWriter(new OutputStreamWriter(p.getOutputStream(), UTF_8));
        Thread pump = new Thread(() -> pump(p, file), name + "-output");
        pump.setDaemon(true);
        pump.start();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot start " + name, e);
      }
      log.info("{} (incarnation {}) starting: {}", name, incarnation, this);
    }

    private void pump(Process p, Path file) {
      try (var in = new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8));
          var out = Files.newBufferedWriter(file, UTF_8)) {
        String line;
        while ((line = in.readLine()) != null) {
          out.write(line);
          out.newLine();
          out.flush();
          synchronized (lines) {
            lines.add(line);
          }
        }
      } catch (IOException e) {
        log.debug("{} output ended", name, e);
      }
    }

    Path logFile() {
      return LOGS.resolve(prefix + "-" + name + "-" + incarnation + ".log");
    }

    /** The current incarnation's output lines so far. */
    List<String> lines() {
      synchronized (lines) {
        return List.copyOf(lines);
      }
    }

    /** The first line of the current incarnation that matches, once it is there. */
    String awaitLine(String what, Predicate<String> matches, Duration deadline) {
      return Eventually.await(
          what + " from " + name + " (see " + logFile() + ")",
          deadline,
          () -> {
            requireAlive();
            synchronized (lines) {
              return lines.stream().filter(matches).findFirst().orElse(null);
            }
          });
    }

    /** Waits until this node answers 200 on {@code /ready}. */
    void awaitReady(Duration deadline) {
      Eventually.until(
          name + " ready (see " + logFile() + ")",
          deadline,
          throttled(
              Duration.ofMillis(250),
              () -> {
                requireAlive();
                return ready();
              }));
    }

    /** {@code /ready} on the management port answers 200. */
    boolean ready() {
      try {
        return http.send(
                    HttpRequest.newBuilder(management("/ready"))
                        .timeout(Duration.ofSeconds(5))
                        .build(),
                    HttpResponse.BodyHandlers.discarding())
                .statusCode()
            == 200;
      } catch (IOException e) {
        return false;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }

    /** The members as this node sees them ({@code /cluster/members}). */
    Membership membership() {
      try {
        HttpResponse<String> response =
            http.send(
                HttpRequest.newBuilder(management("/cluster/members"))
                    .timeout(Duration.ofSeconds(5))
                    .build(),
                HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
          throw new IllegalStateException(
              name + " /cluster/members: " + response.statusCode() + " " + response.body());
        }
        JsonNode body = JSON.readTree(response.body());
        var members = new LinkedHashMap<String, String>();
        body.path("members")
            .forEach(m -> members.put(m.path("node").asText(), m.path("status").asText()));
        var unreachable = new LinkedHashSet<String>();
        body.path("unreachable").forEach(u -> unreachable.add(u.path("node").asText()));
        return new Membership(members, unreachable);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }

    /** The saga entities this node hosts right now (its shard region's state). */
    Set<String> hostedSagas(Duration deadline) {
      String request = Integer.toString(requests.incrementAndGet());
      try {
        stdin.write("state " + request + "\n");
        stdin.flush();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot ask " + name, e);
      }
      String reply =
          awaitLine(
              "its shard region's state", l -> l.startsWith("STATE " + request + " "), deadline);
      String[] words = reply.split(" ", 5);
      if (words[2].equals("ERROR")) {
        throw new AssertionError(name + " could not tell its shard region's state: " + reply);
      }
      if (words.length < 5 || words[4].isBlank()) {
        return Set.of();
      }
      return new LinkedHashSet<>(Arrays.asList(words[4].split(",")));
    }

    /** SIGKILL: no shutdown hook runs, no graceful leave. Returns once the process is gone. */
    void kill() {
      Process p = process;
      p.destroyForcibly();
      try {
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
          throw new AssertionError(name + " survived SIGKILL for 60 s");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }

    /** Sends {@code signal} ({@code STOP}, {@code CONT}) to the node's JVM. */
    void signal(String signal) {
      if (!ProcessSignals.send(signal, process.pid())) {
        throw new AssertionError("kill -" + signal + " " + name + " failed");
      }
    }

    /** Waits until the JVM has exited by itself; its exit code. */
    int awaitExit(Duration deadline) {
      try {
        if (!process.waitFor(deadline.toMillis(), TimeUnit.MILLISECONDS)) {
          throw new AssertionError(
              name + " did not exit within " + deadline + "; see " + logFile());
        }
        return process.exitValue();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }

    /** SIGTERM, then waits for the JVM to exit; its exit code. */
    int stop(Duration deadline) {
      Process p = process;
      // Not p.destroy(): that also closes the pipes, so the node would read the end of its stdin
      // (and halt, see ClusterTestNode) and its shutdown would go unlogged.
      p.toHandle().destroy();
      try {
        if (!p.waitFor(deadline.toMillis(), TimeUnit.MILLISECONDS)) {
          throw new AssertionError(
              name + " did not exit within " + deadline + " of SIGTERM; see " + logFile());
        }
        return p.exitValue();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }

    /** Kills the process if it still runs (cleanup). */
    void destroy() {
      Process p = process;
      if (p != null && p.isAlive()) {
        p.destroyForcibly();
        try {
          p.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    }

    @Override
    public String toString() {
      return name
          + "[remote "
          + remotePort
          + ", management "
          + managementPort
          + ", http "
          + httpPort
          + "]";
    }
  }

  /** How many lines each log file has now: a mark for {@link #grepLogs(String, Map)}. */
  Map<Path, Integer> logMark() {
    var mark = new LinkedHashMap<Path, Integer>();
    for (Path file : logFiles()) {
      mark.put(file, readLines(file).size());
    }
    return mark;
  }

  /** The lines of every log file so far that contain {@code text}. */
  List<String> grepLogs(String text) {
    return grepLogs(text, Map.of());
  }

  /** The lines written since {@code mark} to any log file that contain {@code text}. */
  List<String> grepLogs(String text, Map<Path, Integer> mark) {
    var found = new ArrayList<String>();
    for (Path file : logFiles()) {
      List<String> lines = readLines(file);
      for (String line :
          lines.subList(Math.min(mark.getOrDefault(file, 0), lines.size()), lines.size())) {
        if (line.contains(text)) {
          found.add(file.getFileName() + ": " + line);
        }
      }
    }
    return found;
  }

  private static List<String> readLines(Path file) {
    try {
      return Files.exists(file) ? Files.readAllLines(file, UTF_8) : List.of();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
