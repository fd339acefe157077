package io.sagaflow.chaos.run;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.chaos.ChaosNode;
import io.sagaflow.chaos.format.Jsonl;
import io.sagaflow.persistence.ProcessSignals;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;

/**
 * One node of the run: its fixed ports (kept across incarnations), the remoting proxy in front of
 * it, and its current JVM ({@code Main node <name>}), whose output goes to {@code
 * <run-dir>/<name>-<incarnation>.log}. The node's stdin stays open while the runner lives (its end
 * halts the node).
 */
final class NodeProcess {
  private static final Duration PROBE_TIMEOUT = Duration.ofSeconds(3);

  final String name;
  final int bindPort;
  final int canonicalPort;
  final int managementPort;
  final int httpPort;
  private final RemotingProxy proxy;
  private final Path runDir;
  private final HttpClient http;
  private volatile Process process;
  private volatile String upLine;
  private int incarnation;

  NodeProcess(
      String name,
      int bindPort,
      int canonicalPort,
      int managementPort,
      int httpPort,
      Path runDir,
      HttpClient http) {
    this.name = name;
    this.bindPort = bindPort;
    this.canonicalPort = canonicalPort;
    this.managementPort = managementPort;
    this.httpPort = httpPort;
    this.runDir = runDir;
    this.http = http;
    this.proxy = new RemotingProxy(name + "-proxy", canonicalPort, bindPort);
  }

  RemotingProxy proxy() {
    return proxy;
  }

  /** {@code pekko://sagaflow@127.0.0.1:<canonical port>}, as the members list it. */
  String address() {
    return "pekko://sagaflow@127.0.0.1:" + canonicalPort;
  }

  URI api(String path) {
    return URI.create("http://127.0.0.1:" + httpPort + path);
  }

  URI management(String path) {
    return URI.create("http://127.0.0.1:" + managementPort + path);
  }

  synchronized int incarnation() {
    return incarnation;
  }

  boolean alive() {
    Process p = process;
    return p != null && p.isAlive();
  }

  long pid() {
    Process p = process;
    return p == null ? -1 : p.pid();
  }

  /** The exit code of the last incarnation, once it has exited. */
  Optional<Integer> exitCode() {
    Process p = process;
    return p == null || p.isAlive() ? Optional.empty() : Optional.of(p.exitValue());
  }

  /** Whether the current incarnation has printed {@code UP}. */
  boolean up() {
    return upLine != null;
  }

  /** Starts a new incarnation on the same ports and returns at once. */
  synchronized void start(List<String> javaCommand, Map<String, String> env) {
    if (alive()) {
      throw new IllegalStateException(name + " is running already");
    }
    incarnation++;
    upLine = null;
    Path log = logFile();
    var command = new ArrayList<>(javaCommand);
    command.addAll(List.of("io.sagaflow.chaos.Main", "node", name));
    var builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().keySet().removeIf(k -> k.startsWith("SAGAFLOW_"));
    builder.environment().putAll(env);
    builder.environment().put("SAGAFLOW_REMOTE_PORT", Integer.toString(canonicalPort));
    builder.environment().put(ChaosNode.BIND_PORT_ENV, Integer.toString(bindPort));
    builder.environment().put("SAGAFLOW_MANAGEMENT_PORT", Integer.toString(managementPort));
    builder.environment().put("SAGAFLOW_HTTP_HOST", "127.0.0.1");
    builder.environment().put("SAGAFLOW_HTTP_PORT", Integer.toString(httpPort));
    try {
      Process p = builder.start();
      process = p;
      Thread pump = new Thread(() -> pump(p, log), name + "-" + incarnation + "-output");
      pump.setDaemon(true);
      pump.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start " + name, e);
    }
  }

  private void pump(Process p, Path log) {
    try (var in =
            new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        var out = Files.newBufferedWriter(log, StandardCharsets.UTF_8)) {
      String line;
      while ((line = in.readLine()) != null) {
        out.write(line);
        out.newLine();
        out.flush();
        if (upLine == null && line.startsWith("UP ")) {
          upLine = line;
        }
      }
    } catch (IOException e) {
      // The process is gone; what it wrote is in the file.
    }
  }

  Path logFile() {
    return runDir.resolve(name + "-" + incarnation + ".log");
  }

  /** {@code kill -9}; returns once the process is gone. */
  void kill() {
    Process p = process;
    if (p == null) {
      return;
    }
    p.destroyForcibly();
    try {
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        throw new IllegalStateException(name + " survived SIGKILL for 60 s");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** SIGSTOP or SIGCONT; whether the signal was delivered. */
  boolean signal(String signal) {
    long pid = pid();
    return pid > 0 && ProcessSignals.send(signal, pid);
  }

  /** Whether the kernel reports the process stopped. */
  boolean stopped() {
    long pid = pid();
    return pid > 0 && ProcessSignals.stateOf(pid) == 'T';
  }

  /** SIGTERM, then SIGKILL if it has not exited within {@code grace}. */
  void terminate(Duration grace) {
    Process p = process;
    if (p == null || !p.isAlive()) {
      return;
    }
    // Not p.destroy(), which also closes the pipes: the node would halt on the end of its stdin.
    p.toHandle().destroy();
    try {
      if (!p.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        p.waitFor(30, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  /** {@code /ready} on the management port answers 200; the status, 0 when none came back. */
  int readyStatus() {
    try {
      return http.send(
              HttpRequest.newBuilder(management("/ready")).timeout(PROBE_TIMEOUT).build(),
              HttpResponse.BodyHandlers.discarding())
          .statusCode();
    } catch (IOException e) {
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return 0;
    }
  }

  /** Up members and unreachable ones as this node sees them; empty when it does not answer. */
  Optional<Membership> membership() {
    return getJson("/cluster/members")
        .map(
            body -> {
              var up = new TreeSet<String>();
              body.path("members")
                  .forEach(
                      m -> {
                        if (m.path("status").asText().equals("Up")) {
                          up.add(m.path("node").asText());
                        }
                      });
              var unreachable = new TreeSet<String>();
              body.path("unreachable").forEach(u -> unreachable.add(u.path("node").asText()));
              return new Membership(up, unreachable);
            });
  }

  /**
   * The saga shards this node's shard region hosts, from pekko-management's {@code
   * /cluster/shards/<type>}; empty when it does not answer.
   */
  Optional<Set<String>> shards(String entityType) {
    return getJson("/cluster/shards/" + entityType)
        .map(
            body -> {
              var ids = new LinkedHashSet<String>();
              body.path("regions").forEach(r -> ids.add(r.path("shardId").asText()));
              return ids;
            });
  }

  private Optional<JsonNode> getJson(String path) {
    try {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(management(path)).timeout(PROBE_TIMEOUT).build(),
              HttpResponse.BodyHandlers.ofString());
      if (response.statusCode() != 200) {
        return Optional.empty();
      }
      return Optional.of(Jsonl.MAPPER.readTree(response.body()));
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
  }

  /** Members as one node sees them. */
  record Membership(Set<String> up, Set<String> unreachable) {}

  @Override
  public String toString() {
    return name
        + "[remote "
        + bindPort
        + " via proxy "
        + canonicalPort
        + ", management "
        + managementPort
        + ", http "
        + httpPort
        + ", incarnation "
        + incarnation
        + "]";
  }
}
