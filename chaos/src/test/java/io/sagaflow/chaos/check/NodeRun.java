package io.sagaflow.chaos.check;

import com.fasterxml.jackson.databind.JsonNode;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.chaos.ChaosSaga;
import io.sagaflow.chaos.format.ApiCall;
import io.sagaflow.chaos.format.ApiCall.Op;
import io.sagaflow.chaos.format.ApiCall.Phase;
import io.sagaflow.chaos.format.FaultEvent;
import io.sagaflow.chaos.format.Jsonl;
import io.sagaflow.chaos.format.LedgerEntry.Call;
import io.sagaflow.chaos.participant.FaultMix;
import io.sagaflow.node.SagaflowNode;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.testing.TestDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * One real node (formation self: a cluster of its own) running the chaos saga against a participant
 * over a test database, the history and faults files a runner would write for what the test does
 * with it, and the node's log as {@code <name>.log} in the run directory.
 */
final class NodeRun implements AutoCloseable {
  static final String NODE = "node1";
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private final String name;
  private final SagaflowNode node;
  private final int managementPort;
  private final Jsonl.Writer history;
  private final boolean ownsHistory;
  private final NodeLog log;

  private NodeRun(
      String name,
      SagaflowNode node,
      int managementPort,
      Jsonl.Writer history,
      boolean ownsHistory,
      NodeLog log) {
    this.name = name;
    this.node = node;
    this.managementPort = managementPort;
    this.history = history;
    this.ownsHistory = ownsHistory;
    this.log = log;
  }

  /** Starts the run's only node, {@value #NODE}; the run's faults are over before it starts. */
  static NodeRun start(TestDatabase db, int participantPort, Path runDir) {
    faultsOver(runDir);
    return start(
        db,
        participantPort,
        runDir,
        NODE,
        new Jsonl.Writer(runDir.resolve(CheckInputs.HISTORY)),
        true);
  }

  /**
   * Starts one of several nodes of a run, named {@code name} in the history, which logs to {@code
   * history} (shared by the run's nodes, closed by the caller).
   */
  static NodeRun start(
      TestDatabase db, int participantPort, Path runDir, String name, Jsonl.Writer history) {
    return start(db, participantPort, runDir, name, history, false);
  }

  /** Writes the run's faults file: every fault was over before anything started. */
  static void faultsOver(Path runDir) {
    try (var faults = new Jsonl.Writer(runDir.resolve(CheckInputs.FAULTS))) {
      faults.write(
          new FaultEvent(System.currentTimeMillis(), FaultEvent.Kind.FAULTS_OVER, null, null));
    }
  }

  private static NodeRun start(
      TestDatabase db,
      int participantPort,
      Path runDir,
      String name,
      Jsonl.Writer history,
      boolean ownsHistory) {
    int management = freePort();
    int remoting = freePort();
    var values = new HashMap<String, Object>();
    values.put("pekko.remote.artery.canonical.hostname", "127.0.0.1");
    values.put("pekko.remote.artery.canonical.port", remoting);
    values.put("sagaflow.http.port", 0);
    values.put("pekko.management.http.port", management);
    values.put("sagaflow.engine.ask-timeout", "20s");
    for (String participant : ChaosSaga.PARTICIPANTS) {
      values.put(
          "sagaflow.participants." + participant + ".url", "http://127.0.0.1:" + participantPort);
    }
    Map<String, String> env =
        Map.of(
            DatabaseSettings.URL_ENV, db.jdbcUrl(),
            DatabaseSettings.USER_ENV, db.user(),
            DatabaseSettings.PASSWORD_ENV, db.password());
    // Attached before the node starts, so that the log has the node's whole life.
    NodeLog log =
        NodeLog.attach(runDir.resolve(name + ".log"), "pekko://sagaflow@127.0.0.1:" + remoting);
    try {
      SagaflowNode node =
          SagaflowNode.start(ConfigFactory.parseMap(values), env, List.of(ChaosSaga.definition()));
      return new NodeRun(name, node, management, history, ownsHistory, log);
    } catch (RuntimeException e) {
      log.close();
      if (ownsHistory) {
        history.close();
      }
      throw e;
    }
  }

  /** Starts a saga over the API, logging it as the load generator does; its HTTP status. */
  int startSaga(String id) {
    history.write(call(Op.START, id, Phase.INVOKE, 0, null));
    String body = "{\"type\":\"" + ChaosSaga.TYPE + "\",\"id\":\"" + id + "\",\"input\":{\"n\":1}}";
    HttpResponse<String> r =
        send(
            HttpRequest.newBuilder(api("/v1/sagas"))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)));
    int status = r == null ? 0 : r.statusCode();
    Phase phase =
        status == 201 || status == 200 ? Phase.OK : status == 0 ? Phase.UNKNOWN : Phase.FAIL;
    history.write(call(Op.START, id, phase, status, null));
    return status;
  }

  /** Polls the saga until it waits for nobody (ended, or FAILED); logs the final GET. */
  String awaitSettled(String id) {
    return Eventually.await(
        id + " settled",
        Duration.ofSeconds(60),
        () -> {
          HttpResponse<String> r = send(HttpRequest.newBuilder(api("/v1/sagas/" + id)).GET());
          if (r == null || r.statusCode() != 200) {
            return null;
          }
          String status = json(r.body()).path("status").asText();
          if (Set.of("COMPLETED", "COMPENSATED", "FAILED").contains(status)) {
            history.write(call(Op.GET, id, Phase.OK, 200, status));
            return status;
          }
          return null;
        });
  }

  /** Asks the management port whether the node is ready, and logs the answer. */
  void probeReady() {
    HttpResponse<String> r =
        send(
            HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + managementPort + "/ready"))
                .GET());
    int status = r == null ? 0 : r.statusCode();
    history.write(call(Op.READY, null, status == 200 ? Phase.OK : Phase.FAIL, status, null));
  }

  @Override
  public void close() {
    try {
      node.close();
    } finally {
      log.close();
      if (ownsHistory) {
        history.close();
      }
    }
  }

  /**
   * A saga id whose forward keys the seeded mix rejects exactly for the steps {@code rejected}
   * names: how a test picks sagas that complete, compensate or fail by the mix alone.
   */
  static String idWhere(String prefix, FaultMix mix, long seed, Set<String> rejected) {
    for (int i = 0; ; i++) {
      String id = prefix + "-" + i;
      Set<String> got =
          ChaosSaga.STEPS.stream()
              .map(ChaosSaga.StepSpec::name)
              .filter(step -> mix.rejects(seed, id + "/" + step, Call.FORWARD))
              .collect(Collectors.toSet());
      if (got.equals(rejected)) {
        return id;
      }
    }
  }

  private ApiCall call(Op op, String id, Phase phase, int http, String sagaStatus) {
    return new ApiCall(System.currentTimeMillis(), 0, op, id, name, phase, http, sagaStatus, null);
  }

  private URI api(String path) {
    return URI.create("http://127.0.0.1:" + node.httpPort() + path);
  }

  private static HttpResponse<String> send(HttpRequest.Builder request) {
    try {
      return HTTP.send(
          request.timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }

  private static JsonNode json(String body) {
    try {
      return Jsonl.MAPPER.readTree(body);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static int freePort() {
    try (var socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
