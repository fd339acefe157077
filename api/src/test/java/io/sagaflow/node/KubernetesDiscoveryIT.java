package io.sagaflow.node;

import static io.sagaflow.node.ClusterTestNodes.freePorts;
import static io.sagaflow.node.ClusterTestNodes.throttled;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.sagaflow.orchestrator.internal.ParticipantDirectory;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.testing.TestDatabase;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issue 4, "Kubernetes discovery for real": three node JVMs, each configured as a pod of
 * k8s/base/deployment.yaml is (its env and JAVA_TOOL_OPTIONS, a service account mount with CA,
 * token and namespace), form one cluster through Cluster Bootstrap's {@code kubernetes-api}
 * discovery against a {@link FakeKubernetesApi} over TLS that lists them as three Running pods.
 *
 * <p>The pods come from the manifest too: their labels are the Deployment's pod template labels,
 * and their container ports are the manifest's, renumbered to this test's free ports (everything
 * runs on 127.0.0.1, so the nodes differ by port, not by pod IP). The fake lists pods only for the
 * label selector the Deployment selects its pods with; so a change to the manifests' labels, port
 * names or discovery settings that would keep real pods from finding each other fails this test.
 */
class KubernetesDiscoveryIT {
  private static final Logger log = LoggerFactory.getLogger(KubernetesDiscoveryIT.class);
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final Path MODULE = Path.of(System.getProperty("basedir", ".")).toAbsolutePath();
  private static final Path DEPLOYMENT =
      MODULE.resolveSibling("k8s").resolve("base").resolve("deployment.yaml");
  private static final Path LOGS = Path.of("target", "kubernetes-discovery");

  /** The Deployment and its container running the node, in {@link #DEPLOYMENT}. */
  private static final String DEPLOYMENT_NAME = "sagaflow";

  private static final String NODE_CONTAINER = "sagaflow";

  /** Not "default": a node that ignored its namespace file would be refused (403). */
  private static final String NAMESPACE = "sagaflow-it";

  /** All pods run on loopback; the downward API's status.podIP. */
  private static final String POD_IP = "127.0.0.1";

  private static final int NODES = 3;
  private static final Duration FORMATION_DEADLINE = Duration.ofSeconds(180);
  private static final Duration SAGA_DEADLINE = Duration.ofSeconds(90);

  /** The env variables that set the ports; the manifest's container ports carry the same values. */
  private static final List<String> PORT_VARIABLES =
      List.of("SAGAFLOW_REMOTE_PORT", "SAGAFLOW_MANAGEMENT_PORT", "SAGAFLOW_HTTP_PORT");

  /** Membership, bootstrap and discovery at INFO: how the cluster formed, readable afterwards. */
  private static final String LOGBACK =
      """
      <configuration>
        <appender name="STDOUT" class="ch.qos.logback.core.ConsoleAppender">
          <encoder>
            <pattern>%d{HH:mm:ss.SSS} %-5level %logger{36} - %msg%n</pattern>
          </encoder>
        </appender>
        <logger name="io.sagaflow" level="INFO"/>
        <logger name="org.apache.pekko" level="WARN"/>
        <logger name="org.apache.pekko.cluster" level="INFO"/>
        <logger name="org.apache.pekko.management.cluster.bootstrap" level="INFO"/>
        <logger name="org.apache.pekko.discovery" level="INFO"/>
        <root level="WARN">
          <appender-ref ref="STDOUT"/>
        </root>
      </configuration>
      """;

  private final TestDatabase db = TestDatabase.fresh();
  private final StubParticipant stub = StubParticipant.start();
  private final Map<String, Process> processes = new LinkedHashMap<>();
  // The nodes' stdin: open while the test runs; a node halts when it ends.
  private final List<OutputStream> stdins = new ArrayList<>();
  private final HttpClient http =
      HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(Duration.ofSeconds(5))
          .build();
  private FakeKubernetesApi api;

  @TempDir Path tmp;

  @AfterEach
  void cleanUp() throws InterruptedException {
    processes.values().forEach(Process::destroyForcibly);
    for (Process p : processes.values()) {
      p.waitFor(30, TimeUnit.SECONDS);
    }
    if (api != null) {
      api.close();
    }
    stub.close();
  }

  /** What the test takes from the manifest. */
  private record Manifest(
      Map<String, String> selector,
      Map<String, String> podLabels,
      String serviceAccount,
      ArrayNode containers,
      JsonNode nodeContainer) {

    /** The label selector the Deployment selects its pods with, as the API's query has it. */
    String labelSelector() {
      return selector.entrySet().stream()
          .map(e -> e.getKey() + "=" + e.getValue())
          .collect(Collectors.joining(","));
    }

    /** The node container's env entry, e.g. {@code {name: X, value: "1"}}. */
    Optional<JsonNode> env(String name) {
      for (JsonNode e : nodeContainer.path("env")) {
        if (e.path("name").asText().equals(name)) {
          return Optional.of(e);
        }
      }
      return Optional.empty();
    }

    String literal(String name) {
      JsonNode e =
          env(name).orElseThrow(() -> new AssertionError(DEPLOYMENT + " sets no env " + name));
      assertThat(e.has("value")).as("%s has a literal value in %s", name, DEPLOYMENT).isTrue();
      return e.get("value").asText();
    }
  }

  private static Manifest readManifest() throws IOException {
    var yaml = new YAMLMapper();
    try (MappingIterator<JsonNode> docs =
        yaml.readerFor(JsonNode.class).readValues(DEPLOYMENT.toFile())) {
      while (docs.hasNext()) {
        JsonNode doc = docs.next();
        if (!doc.path("kind").asText().equals("Deployment")
            || !doc.path("metadata").path("name").asText().equals(DEPLOYMENT_NAME)) {
          continue;
        }
        JsonNode template = doc.path("spec").path("template");
        var containers = (ArrayNode) template.path("spec").path("containers");
        JsonNode node = null;
        for (JsonNode c : containers) {
          if (c.path("name").asText().equals(NODE_CONTAINER)) {
            node = c;
          }
        }
        assertThat(node).as("container %s in %s", NODE_CONTAINER, DEPLOYMENT).isNotNull();
        var manifest =
            new Manifest(
                strings(doc.path("spec").path("selector").path("matchLabels")),
                strings(template.path("metadata").path("labels")),
                template.path("spec").path("serviceAccountName").asText("default"),
                containers,
                node);
        assertThat(manifest.selector()).as("the Deployment's selector").isNotEmpty();
        // A Deployment whose template does not carry its selector's labels is rejected anyway.
        assertThat(manifest.podLabels()).containsAllEntriesOf(manifest.selector());
        return manifest;
      }
    }
    throw new AssertionError("no Deployment " + DEPLOYMENT_NAME + " in " + DEPLOYMENT);
  }

  private static Map<String, String> strings(JsonNode object) {
    var map = new LinkedHashMap<String, String>();
    object.fields().forEachRemaining(e -> map.put(e.getKey(), e.getValue().asText()));
    return map;
  }

  /** One node: its pod name, ports and service account mount. */
  private record Node(
      String pod, int remotePort, int managementPort, int httpPort, FakeKubernetesApi.Mount mount) {
    String address() {
      return "pekko://sagaflow@127.0.0.1:" + remotePort;
    }

    Path logFile() {
      return LOGS.resolve(pod + ".log");
    }

    /** The manifest's port numbers (from the env that sets them) to this node's. */
    Map<Integer, Integer> portMap(Manifest manifest) {
      var ports = List.of(remotePort, managementPort, httpPort);
      var map = new LinkedHashMap<Integer, Integer>();
      for (int i = 0; i < PORT_VARIABLES.size(); i++) {
        map.put(Integer.parseInt(manifest.literal(PORT_VARIABLES.get(i))), ports.get(i));
      }
      return map;
    }
  }

  @Test
  void threeNodesFormOneClusterThroughKubernetesApiDiscovery() throws Exception {
    Manifest manifest = readManifest();
    assertThat(manifest.literal("SAGAFLOW_CLUSTER_FORMATION")).isEqualTo("kubernetes");
    String selector = manifest.labelSelector();
    Files.createDirectories(LOGS);
    Path logback = LOGS.resolve("logback-node.xml").toAbsolutePath();
    Files.writeString(logback, LOGBACK);

    api = FakeKubernetesApi.start(tmp.resolve("apiserver"), selector);
    int[] ports = freePorts(3 * NODES);
    var nodes = new ArrayList<Node>();
    for (int i = 0; i < NODES; i++) {
      // As a ReplicaSet names them: <deployment>-<template hash>-<suffix>.
      String pod = DEPLOYMENT_NAME + "-6f9c8d7b54-n" + i;
      // As the kubelet mounts them at /var/run/secrets/kubernetes.io/serviceaccount.
      Path secrets =
          tmp.resolve(pod).resolve("var/run/secrets/kubernetes.io/serviceaccount").toAbsolutePath();
      var mount = api.mountServiceAccount(secrets, NAMESPACE, manifest.serviceAccount(), pod);
      nodes.add(new Node(pod, ports[3 * i], ports[3 * i + 1], ports[3 * i + 2], mount));
    }
    for (Node node : nodes) {
      api.addPod(pod(manifest, node));
    }
    for (Node node : nodes) {
      launch(manifest, node, logback);
    }

    Set<String> addresses = nodes.stream().map(Node::address).collect(Collectors.toSet());
    var lastViews = new TreeMap<String, String>();
    Instant launched = Instant.now();
    try {
      Eventually.until(
          NODES + " Up members seen by every node, every node ready",
          FORMATION_DEADLINE,
          throttled(
              Duration.ofSeconds(1),
              () -> {
                for (Node node : nodes) {
                  requireAlive(node);
                }
                boolean formed = true;
                for (Node node : nodes) {
                  Optional<JsonNode> members = get(node.managementPort(), "/cluster/members");
                  Map<String, String> up =
                      members.map(KubernetesDiscoveryIT::statuses).orElse(Map.of());
                  int ready = status(node.managementPort(), "/ready");
                  lastViews.put(
                      node.pod(),
                      "members "
                          + up
                          + ", unreachable "
                          + members.map(m -> m.path("unreachable").toString()).orElse("?")
                          + ", /ready "
                          + ready);
                  formed &=
                      members.isPresent()
                          && up.keySet().equals(addresses)
                          && up.values().stream().allMatch("Up"::equals)
                          && members.get().path("unreachable").isEmpty()
                          && ready == 200;
                }
                return formed;
              }));
    } catch (AssertionError e) {
      throw new AssertionError(
          e.getMessage()
              + "\nlast views: "
              + lastViews
              + "\nfake Kubernetes API saw "
              + recent(api.requests())
              + "\nnode logs: "
              + nodes.stream().map(n -> n.logFile().toString()).toList(),
          e);
    }
    log.info(
        "Cluster of {} formed through kubernetes-api discovery {} s after launch",
        NODES,
        Duration.between(launched, Instant.now()).toSeconds());

    // Each node asked the API itself, with its own token, for its namespace's pods with the
    // Deployment's selector, and was listed all three pods.
    List<FakeKubernetesApi.Request> requests = api.requests();
    assertThat(requests).isNotEmpty();
    assertThat(requests)
        .allSatisfy(
            r -> {
              assertThat(r.caller()).as("authenticated: %s", r).isPresent();
              assertThat(r.method()).as("%s", r).isEqualTo("GET");
              assertThat(r.namespace()).as("%s", r).contains(NAMESPACE);
              assertThat(r.labelSelector()).as("%s", r).contains(selector);
              assertThat(r.status()).as("%s", r).isEqualTo(200);
              assertThat(r.pods()).as("%s", r).isEqualTo(NODES);
            });
    assertThat(requests.stream().map(r -> r.caller().orElseThrow().pod()).distinct())
        .containsExactlyInAnyOrderElementsOf(nodes.stream().map(Node::pod).toList());

    // The cluster works as one: a saga started through one node completes, seen from another.
    String id = "k8s-discovery-" + UUID.randomUUID();
    startSaga(nodes.get(0), id);
    Node other = nodes.get(NODES - 1);
    Eventually.until(
        "saga " + id + " COMPLETED, as " + other.pod() + " sees it",
        SAGA_DEADLINE,
        throttled(
            Duration.ofMillis(500),
            () -> {
              requireAlive(other);
              return get(other.httpPort(), "/v1/sagas/" + id)
                  .map(saga -> saga.path("status").asText().equals("COMPLETED"))
                  .orElse(false);
            }));
    assertThat(stub.appliedKeys()).contains(id + "/reserve", id + "/confirm");
  }

  /** A pod as the API lists it: the Deployment's pod template, Running, with this node's ports. */
  private ObjectNode pod(Manifest manifest, Node node) {
    Map<Integer, Integer> portMap = node.portMap(manifest);
    ObjectNode pod = JSON.createObjectNode().put("kind", "Pod").put("apiVersion", "v1");
    ObjectNode metadata =
        pod.putObject("metadata")
            .put("name", node.pod())
            .put("namespace", NAMESPACE)
            .put("uid", UUID.randomUUID().toString())
            .put("creationTimestamp", Instant.now().toString());
    ObjectNode labels = metadata.putObject("labels");
    manifest.podLabels().forEach(labels::put);

    ObjectNode spec = pod.putObject("spec").put("serviceAccountName", manifest.serviceAccount());
    ArrayNode containers = spec.putArray("containers");
    ArrayNode statuses = JSON.createArrayNode();
    for (JsonNode c : manifest.containers()) {
      ObjectNode container =
          containers
              .addObject()
              .put("name", c.path("name").asText())
              .put("image", c.path("image").asText());
      if (c.has("ports")) {
        ArrayNode ports = container.putArray("ports");
        for (JsonNode p : c.path("ports")) {
          ObjectNode port = p.deepCopy();
          int number = p.path("containerPort").asInt();
          port.put("containerPort", portMap.getOrDefault(number, number));
          ports.add(port);
        }
      }
      ObjectNode status =
          statuses
              .addObject()
              .put("name", c.path("name").asText())
              .put("ready", false)
              .put("started", true)
              .put("restartCount", 0);
      status.putObject("state").putObject("running").put("startedAt", Instant.now().toString());
    }

    ObjectNode status =
        pod.putObject("status").put("phase", "Running").put("hostIP", POD_IP).put("podIP", POD_IP);
    status.putArray("podIPs").addObject().put("ip", POD_IP);
    status.set("containerStatuses", statuses);
    return pod;
  }

  /** Starts a node JVM with the environment the manifest gives its pod, adapted to loopback. */
  private void launch(Manifest manifest, Node node, Path logback) throws IOException {
    String kubernetesApi = "pekko.discovery.kubernetes-api.";
    var command = new ArrayList<String>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(
        List.of(
            "-Xmx384m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Dlogback.configurationFile=" + logback,
            "-D" + kubernetesApi + "api-ca-path=" + node.mount().caCrt(),
            "-D" + kubernetesApi + "api-token-path=" + node.mount().token(),
            "-D" + kubernetesApi + "pod-namespace-path=" + node.mount().namespace(),
            "-cp",
            System.getProperty("java.class.path"),
            KubernetesTestNode.class.getName(),
            node.pod()));
    var builder =
        new ProcessBuilder(command)
            .redirectErrorStream(true)
            .redirectOutput(node.logFile().toFile());
    Map<String, String> env = builder.environment();
    env.keySet()
        .removeIf(
            k ->
                k.startsWith("SAGAFLOW_")
                    || k.startsWith("PEKKO_")
                    || k.startsWith("KUBERNETES_")
                    || k.equals("JAVA_TOOL_OPTIONS")
                    || k.equals("JDK_JAVA_OPTIONS")
                    || k.equals("_JAVA_OPTIONS"));
    env.putAll(podEnv(manifest, node));
    // Loopback instead of every interface: this machine is shared.
    env.put("SAGAFLOW_MANAGEMENT_BIND_HOST", "127.0.0.1");
    env.put("SAGAFLOW_HTTP_HOST", "127.0.0.1");
    // All three pods must be discovered and answer before a cluster is formed.
    env.put("SAGAFLOW_REQUIRED_CONTACT_POINTS", Integer.toString(NODES));
    env.put("KUBERNETES_SERVICE_HOST", api.host());
    env.put("KUBERNETES_SERVICE_PORT", Integer.toString(api.port()));
    env.put(DatabaseSettings.URL_ENV, db.jdbcUrl());
    env.put(DatabaseSettings.USER_ENV, db.user());
    env.put(DatabaseSettings.PASSWORD_ENV, db.password());
    env.put(ParticipantDirectory.envVar(KubernetesTestNode.PARTICIPANT), stub.baseUrl());
    Process process = builder.start();
    processes.put(node.pod(), process);
    stdins.add(process.getOutputStream());
    log.info(
        "{} starting: remoting {}, management {}, HTTP {}; log {}",
        node.pod(),
        node.remotePort(),
        node.managementPort(),
        node.httpPort(),
        node.logFile());
  }

  /**
   * The node container's env from the manifest: literal values (JAVA_TOOL_OPTIONS among them) as
   * they are, status.podIP from the downward API, the ports renumbered; Secrets are left out (the
   * test's database replaces sagaflow-db, and the API tokens are optional).
   */
  private static Map<String, String> podEnv(Manifest manifest, Node node) {
    Map<Integer, Integer> portMap = node.portMap(manifest);
    var env = new LinkedHashMap<String, String>();
    for (JsonNode e : manifest.nodeContainer().path("env")) {
      String name = e.path("name").asText();
      if (e.has("value")) {
        env.put(name, e.get("value").asText());
      } else if (e.path("valueFrom").has("fieldRef")) {
        String field = e.path("valueFrom").path("fieldRef").path("fieldPath").asText();
        assertThat(field).as("downward API field of %s", name).isEqualTo("status.podIP");
        env.put(name, POD_IP);
      } else {
        assertThat(e.path("valueFrom").has("secretKeyRef"))
            .as("env %s from %s", name, e.path("valueFrom"))
            .isTrue();
      }
    }
    for (String variable : PORT_VARIABLES) {
      env.put(variable, Integer.toString(portMap.get(Integer.parseInt(env.get(variable)))));
    }
    return env;
  }

  private void startSaga(Node node, String id) {
    String body =
        JSON.createObjectNode()
            .put("type", KubernetesTestNode.DISCOVERED.name())
            .put("id", id)
            .set("input", JSON.createObjectNode().put("order", id))
            .toString();
    var lastProblem = new String[] {"none yet"};
    try {
      Eventually.until(
          "start of saga " + id + " through " + node.pod(),
          SAGA_DEADLINE,
          throttled(
              Duration.ofMillis(500),
              () -> {
                requireAlive(node);
                HttpRequest request =
                    HttpRequest.newBuilder(
                            URI.create("http://127.0.0.1:" + node.httpPort() + "/v1/sagas"))
                        .timeout(Duration.ofSeconds(30))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build();
                try {
                  HttpResponse<String> response =
                      http.send(request, HttpResponse.BodyHandlers.ofString());
                  int status = response.statusCode();
                  if (status == 201 || status == 200) {
                    return true;
                  }
                  if (status < 500) {
                    // An Error, not an exception: Eventually gives up at once.
                    throw new AssertionError(
                        "start of " + id + ": " + status + " " + response.body());
                  }
                  lastProblem[0] = status + " " + response.body();
                } catch (IOException e) {
                  lastProblem[0] = e.toString();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                  throw new IllegalStateException(e);
                }
                return false;
              }));
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; last answer: " + lastProblem[0], e);
    }
  }

  private void requireAlive(Node node) {
    Process process = processes.get(node.pod());
    if (!process.isAlive()) {
      throw new AssertionError(
          node.pod() + " exited with " + process.exitValue() + "; see " + node.logFile());
    }
  }

  /** How many requests, and the last few: enough to tell what went wrong. */
  private static String recent(List<FakeKubernetesApi.Request> requests) {
    int from = Math.max(0, requests.size() - 6);
    return requests.size()
        + " requests"
        + (requests.isEmpty() ? "" : ", the last: " + requests.subList(from, requests.size()));
  }

  /** Member address to status, from pekko-management's {@code /cluster/members}. */
  private static Map<String, String> statuses(JsonNode members) {
    var statuses = new TreeMap<String, String>();
    for (JsonNode m : members.path("members")) {
      statuses.put(m.path("node").asText(), m.path("status").asText());
    }
    return statuses;
  }

  /** The JSON a GET answers with 200, or empty (another status, no answer yet). */
  private Optional<JsonNode> get(int port, String path) {
    try {
      HttpResponse<String> response = send(port, path);
      return response.statusCode() == 200
          ? Optional.of(JSON.readTree(response.body()))
          : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** The status a GET answers with, -1 without an answer. */
  private int status(int port, String path) {
    try {
      return send(port, path).statusCode();
    } catch (IOException e) {
      return -1;
    }
  }

  private HttpResponse<String> send(int port, String path) throws IOException {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .timeout(Duration.ofSeconds(10))
            .GET()
            .build();
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
