package io.sagaflow.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigResolveOptions;
import io.sagaflow.orchestrator.internal.ParticipantDirectory;
import io.sagaflow.sagas.ExampleSagas;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The manifests under k8s/ agree with themselves, with the node's configuration (the files it
 * ships: sagaflow-node.conf and every reference.conf), with the saga definitions, with the
 * container image and with the deployment guide. Each overlay is rendered by kustomize when kubectl
 * is installed, and by {@link Kustomize} otherwise (which must then render the same).
 */
class ManifestsTest {

  private static final Path MODULE = Path.of(System.getProperty("basedir", ".")).toAbsolutePath();
  private static final Path DOCKERFILE = MODULE.resolveSibling("sagas").resolve("Dockerfile");
  private static final Path GUIDE = MODULE.resolve("README.md");

  /** What the downward API would put in status.podIP. */
  private static final String POD_IP = "10.244.1.7";

  private static final String NODE_CONTAINER = "sagaflow";
  private static final Map<String, Rendering> RENDERINGS = new ConcurrentHashMap<>();
  private static final Map<String, Optional<List<ObjectNode>>> KUSTOMIZED =
      new ConcurrentHashMap<>();

  /** sagaflow-node.conf over every reference.conf on the classpath, unresolved. */
  private static final Config NODE_CONFIG_FILES =
      ConfigFactory.parseResources(ManifestsTest.class.getClassLoader(), "sagaflow-node.conf")
          .withFallback(
              ConfigFactory.parseResourcesAnySyntax(
                  ManifestsTest.class.getClassLoader(), "reference.conf"));

  @ParameterizedTest
  @ValueSource(strings = {"base", "overlays/dev", "overlays/prod"})
  void rendersTheSameInJavaAsWithKustomize(String dir) {
    List<ObjectNode> java = Kustomize.render(MODULE.resolve(dir));
    assertThat(java)
        .extracting(o -> o.path("kind").asText() + "/" + o.path("metadata").path("name").asText())
        .contains(
            "Deployment/sagaflow",
            "Service/sagaflow",
            "ServiceAccount/sagaflow",
            "Role/sagaflow-pod-reader",
            "RoleBinding/sagaflow-pod-reader",
            "PodDisruptionBudget/sagaflow");
    // The part that needs kubectl: kustomize itself must agree with the Java rendering, which the
    // tests use where kubectl is not installed.
    kustomized(dir)
        .ifPresent(
            kustomize ->
                assertThat(Kustomize.normalized(java))
                    .as("Kustomize.render(%s) vs kubectl kustomize", dir)
                    .isEqualTo(Kustomize.normalized(kustomize)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"overlays/dev", "overlays/prod"})
  void podLabelsMatchTheSelectorsAndClusterDiscovery(String overlay) {
    Rendering r = rendering(overlay);
    JsonNode labels = r.podTemplate().path("metadata").path("labels");

    assertThat(labels).as("pod template labels").isNotEmpty();
    assertSelects(
        labels, r.deployment().path("spec").path("selector").path("matchLabels"), "Deployment");
    assertSelects(labels, r.one("Service", "sagaflow").path("spec").path("selector"), "Service");
    assertSelects(
        labels,
        r.one("PodDisruptionBudget", "sagaflow").path("spec").path("selector").path("matchLabels"),
        "PDB");
    for (JsonNode term :
        r.podSpec()
            .path("affinity")
            .path("podAntiAffinity")
            .path("preferredDuringSchedulingIgnoredDuringExecution")) {
      assertSelects(
          labels,
          term.path("podAffinityTerm").path("labelSelector").path("matchLabels"),
          "anti-affinity");
    }
    for (JsonNode spread : r.podSpec().path("topologySpreadConstraints")) {
      assertSelects(labels, spread.path("labelSelector").path("matchLabels"), "topology spread");
    }

    // Cluster Bootstrap lists the pods matching pod-label-selector with the service name in it.
    Config node = r.nodeConfig();
    String selector =
        String.format(
            node.getString("pekko.discovery.kubernetes-api.pod-label-selector"),
            node.getString(
                "pekko.management.cluster.bootstrap.contact-point-discovery.service-name"));
    assertThat(selector).isEqualTo("app=sagaflow");
    String[] keyValue = selector.split("=", 2);
    assertThat(labels.path(keyValue[0]).asText())
        .as("pods found by '%s'", selector)
        .isEqualTo(keyValue[1]);
    // ...and nothing else in the namespace may look like a member (the dev database, say).
    assertThat(r.podTemplates())
        .filteredOn(
            t -> t.path("metadata").path("labels").path(keyValue[0]).asText().equals(keyValue[1]))
        .as("pod templates matching %s", selector)
        .hasSize(1);
  }

  @ParameterizedTest
  @ValueSource(strings = {"overlays/dev", "overlays/prod"})
  void portsProbesAndAddressesMatchTheNodeConfiguration(String overlay) {
    Rendering r = rendering(overlay);
    Config node = r.nodeConfig();
    int http = node.getInt("sagaflow.http.port");
    int remoting = node.getInt("pekko.remote.artery.canonical.port");
    int management = node.getInt("pekko.management.http.port");

    assertThat(r.containerPorts())
        .containsExactlyInAnyOrderEntriesOf(
            Map.of("http", http, "remoting", remoting, "management", management));

    assertThat(node.getString("pekko.management.http.base-path"))
        .as("management base-path")
        .isEmpty();
    Config health = node.getConfig("pekko.management.health-checks");
    assertProbe(r, "startupProbe", "/" + health.getString("startup-path"), management);
    assertProbe(r, "readinessProbe", "/" + health.getString("readiness-path"), management);
    assertProbe(r, "livenessProbe", "/" + health.getString("liveness-path"), management);
    JsonNode startup = r.nodeContainer().path("startupProbe");
    assertThat(startup.path("failureThreshold").asInt() * startup.path("periodSeconds").asInt())
        .as("seconds a cold start may take before the kubelet restarts the node")
        .isGreaterThanOrEqualTo(60);

    JsonNode servicePort = r.one("Service", "sagaflow").path("spec").path("ports").get(0);
    assertThat(r.port(servicePort.path("targetPort"))).as("Service targetPort").isEqualTo(http);

    // Other nodes reach this one at the pod IP; the kubelet probes the pod IP.
    assertThat(r.env().get("SAGAFLOW_REMOTE_HOST")).isEqualTo(POD_IP);
    assertThat(r.env().get("SAGAFLOW_MANAGEMENT_HOST")).isEqualTo(POD_IP);
    assertThat(node.getString("pekko.remote.artery.canonical.hostname")).isEqualTo(POD_IP);
    assertThat(node.getString("pekko.management.http.hostname")).isEqualTo(POD_IP);
    assertThat(node.getString("pekko.management.http.bind-hostname")).isEqualTo("0.0.0.0");
    assertThat(node.getString("sagaflow.http.host")).isEqualTo("0.0.0.0");
  }

  @ParameterizedTest
  @ValueSource(strings = {"overlays/dev", "overlays/prod"})
  void clusterBootstrapDiscoversThePodsThroughTheKubernetesApi(String overlay) {
    Rendering r = rendering(overlay);
    Config node = r.nodeConfig();
    assertThat(node.getString("sagaflow.cluster.formation")).isEqualTo("kubernetes");

    Config discovery = node.getConfig("pekko.management.cluster.bootstrap.contact-point-discovery");
    String method = discovery.getString("discovery-method");
    if (method.equals("pekko.discovery")) {
      method = node.getString("pekko.discovery.method");
    }
    assertThat(method).as("the discovery Cluster Bootstrap uses").isEqualTo("kubernetes-api");
    assertThat(node.getString("pekko.discovery.kubernetes-api.class"))
        .isEqualTo("org.apache.pekko.discovery.kubernetes.KubernetesApiServiceDiscovery");

    assertThat(node.getBoolean("pekko.discovery.kubernetes-api.use-raw-ip"))
        .as("contact points probed at their pod IP, whatever the cluster's DNS")
        .isTrue();

    String portName = discovery.getString("port-name");
    if (!portName.isEmpty()) {
      assertThat(r.containerPorts())
          .containsEntry(portName, node.getInt("pekko.management.http.port"));
    }
    int replicas = r.replicas();
    assertThat(discovery.getInt("required-contact-point-nr")).isBetween(1, replicas);
  }

  @ParameterizedTest
  @ValueSource(strings = {"overlays/dev", "overlays/prod"})
  void onlyTheNodesServiceAccountMayReadPodsAndNothingElse(String overlay) {
    Rendering r = rendering(overlay);
    assertThat(r.all("ClusterRole")).isEmpty();
    assertThat(r.all("ClusterRoleBinding")).isEmpty();

    List<ObjectNode> roles = r.all("Role");
    assertThat(roles).hasSize(1);
    JsonNode rules = roles.get(0).path("rules");
    assertThat(rules).hasSize(1);
    assertThat(strings(rules.get(0).path("apiGroups"))).containsExactly("");
    assertThat(strings(rules.get(0).path("resources"))).containsExactly("pods");
    assertThat(strings(rules.get(0).path("verbs")))
        .containsExactlyInAnyOrder("get", "watch", "list");
    assertThat(rules.get(0).has("resourceNames")).isFalse();

    String serviceAccount = r.podSpec().path("serviceAccountName").asText();
    assertThat(serviceAccount).isEqualTo("sagaflow");
    assertThat(r.all("ServiceAccount")).extracting(Rendering::name).containsExactly(serviceAccount);
    assertThat(
            r.one("ServiceAccount", serviceAccount)
                .path("automountServiceAccountToken")
                .asBoolean(true))
        .isTrue();
    assertThat(r.podSpec().path("automountServiceAccountToken").asBoolean(true))
        .as("the discovery reads the mounted token")
        .isTrue();

    List<ObjectNode> bindings = r.all("RoleBinding");
    assertThat(bindings).hasSize(1);
    JsonNode binding = bindings.get(0);
    assertThat(binding.path("roleRef").path("kind").asText()).isEqualTo("Role");
    assertThat(binding.path("roleRef").path("name").asText())
        .isEqualTo(Rendering.name(roles.get(0)));
    JsonNode subjects = binding.path("subjects");
    assertThat(subjects).hasSize(1);
    assertThat(subjects.get(0).path("kind").asText()).isEqualTo("ServiceAccount");
    assertThat(subjects.get(0).path("name").asText()).isEqualTo(serviceAccount);
    assertThat(subjects.get(0).path("namespace").asText(r.namespace()))
        .as("the subject's namespace (absent means the binding's)")
        .isEqualTo(r.namespace());
  }

  @ParameterizedTest
  @ValueSource(strings = {"base", "overlays/dev", "overlays/prod"})
  void remotingAndManagementAdmitOnlyTheNodesOwnPodsAndTheApiAdmitsTheCluster(String overlay) {
    Rendering r = rendering(overlay);
    JsonNode podLabels = r.podTemplate().path("metadata").path("labels");
    List<ObjectNode> policies =
        r.all("NetworkPolicy").stream()
            .filter(p -> selects(p.path("spec").path("podSelector"), podLabels))
            .toList();
    assertThat(policies).as("one NetworkPolicy selects the node pods").hasSize(1);
    JsonNode spec = policies.get(0).path("spec");
    assertThat(strings(spec.path("policyTypes"))).contains("Ingress");

    Map<String, Integer> ports = r.containerPorts();
    var admitted = new HashMap<Integer, JsonNode>();
    for (JsonNode rule : spec.path("ingress")) {
      for (JsonNode port : rule.path("ports")) {
        admitted.put(r.port(port.path("port")), rule.path("from"));
      }
    }
    assertThat(admitted.keySet())
        .as("every port of the node container has a rule (else NetworkPolicy blocks it)")
        .containsExactlyInAnyOrderElementsOf(ports.values());
    assertThat(admitted.get(ports.get("http")).isMissingNode())
        .as("the API admits every client")
        .isTrue();
    for (String internal : List.of("remoting", "management")) {
      JsonNode from = admitted.get(ports.get(internal));
      assertThat(from).as("%s admits some peers only", internal).hasSize(1);
      assertThat(from.get(0).has("namespaceSelector") || from.get(0).has("ipBlock"))
          .as("%s admits pods of this namespace only", internal)
          .isFalse();
      assertThat(selects(from.get(0).path("podSelector"), podLabels))
          .as("%s admits the node pods", internal)
          .isTrue();
      assertThat(from.get(0).path("podSelector").path("matchLabels").size())
          .as("%s admits nothing but the node pods' discovery label", internal)
          .isPositive();
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"base", "overlays/dev", "overlays/prod"})
  void prometheusIsPointedAtTheMetricsTheNodeServesOpenlyOnAnAdmittedPort(String overlay)
      throws IOException {
    Rendering r = rendering(overlay);
    JsonNode annotations = r.podTemplate().path("metadata").path("annotations");
    assertThat(annotations.path("prometheus.io/scrape").asText()).isEqualTo("true");

    int port = Integer.parseInt(annotations.path("prometheus.io/port").asText());
    assertThat(port).as("the HTTP API's port").isEqualTo(r.containerPorts().get("http"));
    if (!overlay.equals("base")) {
      assertThat(port).isEqualTo(r.nodeConfig().getInt("sagaflow.http.port"));
    }
    // Scraped by whoever the cluster runs Prometheus as: the policy admits the port from anywhere.
    JsonNode podLabels = r.podTemplate().path("metadata").path("labels");
    List<JsonNode> admitting = new ArrayList<>();
    for (ObjectNode policy : r.all("NetworkPolicy")) {
      if (selects(policy.path("spec").path("podSelector"), podLabels)) {
        for (JsonNode rule : policy.path("spec").path("ingress")) {
          for (JsonNode admitted : rule.path("ports")) {
            if (r.port(admitted.path("port")) == port) {
              admitting.add(rule);
            }
          }
        }
      }
    }
    assertThat(admitting).as("ingress rules for port %s", port).isNotEmpty();
    assertThat(admitting).allMatch(rule -> rule.path("from").isEmpty());

    // The path is one the node serves without a token, as its API description says.
    String path = annotations.path("prometheus.io/path").asText();
    JsonNode api;
    try (var in = ManifestsTest.class.getClassLoader().getResourceAsStream("openapi.yaml")) {
      assertThat(in).as("the node's openapi.yaml").isNotNull();
      api = Kustomize.YAML.readTree(in);
    }
    JsonNode operation = api.path("paths").path(path).path("get");
    assertThat(operation.isObject()).as("GET %s in openapi.yaml", path).isTrue();
    assertThat(operation.path("security").isArray() && operation.path("security").isEmpty())
        .as("GET %s needs no token", path)
        .isTrue();
    assertThat(operation.path("responses").path("200").path("content").has("text/plain"))
        .as("GET %s answers Prometheus' text format", path)
        .isTrue();
  }

  private static boolean selects(JsonNode selector, JsonNode labels) {
    JsonNode match = selector.path("matchLabels");
    if (match.isEmpty() || selector.has("matchExpressions")) {
      return false;
    }
    for (var it = match.fields(); it.hasNext(); ) {
      var entry = it.next();
      if (!entry.getValue().asText().equals(labels.path(entry.getKey()).asText(null))) {
        return false;
      }
    }
    return true;
  }

  @ParameterizedTest
  @ValueSource(strings = {"overlays/dev", "overlays/prod"})
  void everyContainerHasRequestsWithinLimits(String overlay) {
    Rendering r = rendering(overlay);
    for (JsonNode template : r.podTemplates()) {
      JsonNode spec = template.path("spec");
      assertThat(spec.path("enableServiceLinks").asBoolean(true))
          .as("service links would inject <SERVICE>_PORT variables that the node may read")
          .isFalse();
      for (JsonNode container : containers(spec)) {
        String name = container.path("name").asText();
        JsonNode resources = container.path("resources");
        for (String resource : List.of("cpu", "memory")) {
          JsonNode request = resources.path("requests").path(resource);
          JsonNode limit = resources.path("limits").path(resource);
          assertThat(request.isMissingNode()).as("%s requests %s", name, resource).isFalse();
          assertThat(limit.isMissingNode()).as("%s limits %s", name, resource).isFalse();
          assertThat(quantity(request.asText()))
              .as("%s %s request <= limit", name, resource)
              .isLessThanOrEqualTo(quantity(limit.asText()));
        }
      }
    }
    JsonNode node = r.nodeContainer().path("resources");
    assertThat(quantity(node.path("requests").path("memory").asText()))
        .as("a node's memory request equals its limit: the heap is sized from the limit")
        .isEqualTo(quantity(node.path("limits").path("memory").asText()));
  }

  @ParameterizedTest
  @ValueSource(strings = {"overlays/dev", "overlays/prod"})
  void theHeapLeavesRoomForTheRestOfTheJvm(String overlay) {
    Rendering r = rendering(overlay);
    List<String> options = r.javaToolOptions();
    double percentage =
        options.stream()
            .filter(o -> o.startsWith("-XX:MaxRAMPercentage="))
            .map(o -> Double.parseDouble(o.substring(o.indexOf('=') + 1)))
            .findFirst()
            .orElseThrow(
                () -> new AssertionError("JAVA_TOOL_OPTIONS sets no -XX:MaxRAMPercentage"));
    double limit =
        quantity(r.nodeContainer().path("resources").path("limits").path("memory").asText());
    // ~270 MiB of metaspace, code cache, threads, GC structures and Artery buffers were measured
    // under load; keep a margin above that.
    assertThat(limit * (1 - percentage / 100))
        .as("bytes left beside the heap")
        .isGreaterThanOrEqualTo(320.0 * (1 << 20));
  }

  @ParameterizedTest
  @ValueSource(strings = {"overlays/dev", "overlays/prod"})
  void everySecretAndConfigMapReferencedIsDefinedOrDocumented(String overlay) throws IOException {
    Rendering r = rendering(overlay);
    String guide = Files.readString(GUIDE, StandardCharsets.UTF_8);
    List<Ref> refs = r.refs();
    assertThat(refs).extracting(Ref::name).contains("sagaflow-db");

    for (Ref ref : refs) {
      Optional<ObjectNode> defined = r.find(ref.kind(), ref.name());
      if (ref.kind().equals("ConfigMap")) {
        assertThat(defined).as("ConfigMap %s", ref.name()).isPresent();
      }
      if (defined.isPresent()) {
        if (ref.key() != null) {
          JsonNode object = defined.get();
          assertThat(object.path("data").has(ref.key()) || object.path("stringData").has(ref.key()))
              .as("%s %s has key %s", ref.kind(), ref.name(), ref.key())
              .isTrue();
        }
      } else if (overlay.endsWith("dev") && !ref.optional()) {
        throw new AssertionError(
            "dev references Secret " + ref.name() + ", which it does not define");
      } else {
        // Created by the operator: the guide says how, key by key.
        Optional<String> command = shellCommand(guide, "create secret generic " + ref.name() + " ");
        assertThat(command).as("README.md creates Secret %s", ref.name()).isPresent();
        if (ref.key() != null) {
          assertThat(command.get())
              .as("README.md's Secret %s has key %s", ref.name(), ref.key())
              .contains("--from-literal=" + ref.key() + "=");
        }
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"overlays/dev", "overlays/prod"})
  void participantsAreAllConfiguredOrNoneForTheDemo(String overlay) {
    Rendering r = rendering(overlay);
    var env = r.env();
    var directory = new ParticipantDirectory(r.nodeConfig(), env);
    Set<String> participants = ExampleSagas.participants(ExampleSagas.all());
    assertThat(participants).isNotEmpty();
    List<String> configured =
        participants.stream().filter(p -> directory.baseUrl(p).isPresent()).toList();
    if (overlay.endsWith("dev")) {
      assertThat(configured).as("dev runs the demo participants: no participant URL").isEmpty();
    } else {
      assertThat(configured)
          .as("every participant has a URL in production")
          .containsExactlyInAnyOrderElementsOf(participants);
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"overlays/dev", "overlays/prod"})
  void terminationGraceCoversTheGracefulStop(String overlay) {
    Rendering r = rendering(overlay);
    Duration shutdown = r.nodeConfig().getDuration("sagaflow.node.shutdown-timeout");
    JsonNode preStop = r.nodeContainer().path("lifecycle").path("preStop");
    long preStopSeconds = 0;
    if (!preStop.isMissingNode()) {
      List<String> command = strings(preStop.path("exec").path("command"));
      assertThat(command).as("preStop only waits").hasSize(2).first().isEqualTo("sleep");
      preStopSeconds = Long.parseLong(command.get(1));
    }
    long grace = r.podSpec().path("terminationGracePeriodSeconds").asLong(30);
    assertThat(grace)
        .as("grace >= preStop %s s + shutdown-timeout %s + 5 s", preStopSeconds, shutdown)
        .isGreaterThanOrEqualTo(preStopSeconds + shutdown.toSeconds() + 5);
  }

  @ParameterizedTest
  @ValueSource(strings = {"overlays/dev", "overlays/prod"})
  void replicasAreOddAndDisruptionsKeepTheMajority(String overlay) {
    Rendering r = rendering(overlay);
    assertThat(r.nodeConfig().getString("pekko.cluster.split-brain-resolver.active-strategy"))
        .isEqualTo("keep-majority");
    int replicas = r.replicas();
    assertThat(replicas).as("replicas").isGreaterThanOrEqualTo(3).isOdd();
    int tolerable = (replicas - 1) / 2;

    JsonNode pdb = r.one("PodDisruptionBudget", "sagaflow").path("spec");
    if (pdb.has("maxUnavailable")) {
      assertThat(pdb.path("maxUnavailable").asInt()).isBetween(1, tolerable);
    } else {
      assertThat(pdb.path("minAvailable").asInt()).isBetween(replicas - tolerable, replicas - 1);
    }
    JsonNode rolling = r.deployment().path("spec").path("strategy").path("rollingUpdate");
    assertThat(rolling.path("maxUnavailable").asInt()).isBetween(0, tolerable);
  }

  @ParameterizedTest
  @ValueSource(strings = {"base", "overlays/dev", "overlays/prod"})
  void theNodeImageIsTheOneTheOverlayNames(String dir) {
    Rendering r = rendering(dir);
    String image = r.nodeContainer().path("image").asText();
    assertThat(r.podTemplates().stream().flatMap(t -> containers(t.path("spec")).stream()))
        .filteredOn(c -> c.path("image").asText().replaceFirst("[:@].*$", "").endsWith("sagaflow"))
        .extracting(c -> c.path("image").asText())
        .as("every container running Sagaflow")
        .containsOnly(image);
    switch (dir) {
      case "base" -> assertThat(image).isEqualTo("sagaflow:latest");
      case "overlays/dev" -> assertThat(image).isEqualTo("sagaflow:dev");
      default -> assertThat(image).matches(".*/sagaflow:[0-9][^:]*").doesNotEndWith(":latest");
    }
    assertThat(r.nodeContainer().path("imagePullPolicy").asText()).isEqualTo("IfNotPresent");
  }

  @Test
  void theDockerfileRunsTheJarAsTheDeploymentsUserOnItsPorts() throws IOException {
    String dockerfile = Files.readString(DOCKERFILE, StandardCharsets.UTF_8);
    Rendering r = rendering("base");

    Matcher from = Pattern.compile("(?m)^FROM\\s+(\\S+)").matcher(dockerfile);
    assertThat(from.find()).isTrue();
    assertThat(from.group(1)).startsWith("eclipse-temurin:17");

    Matcher expose = Pattern.compile("(?m)^EXPOSE\\s+(.+)$").matcher(dockerfile);
    assertThat(expose.find()).isTrue();
    assertThat(Stream.of(expose.group(1).trim().split("\\s+")).map(Integer::valueOf))
        .containsExactlyInAnyOrderElementsOf(r.containerPorts().values());

    Matcher user = Pattern.compile("(?m)^USER\\s+(\\d+)(?::(\\d+))?\\s*$").matcher(dockerfile);
    assertThat(user.find()).as("a numeric USER, which runAsNonRoot can verify").isTrue();
    assertThat(Integer.parseInt(user.group(1))).isPositive();
    assertThat(r.podSpec().path("securityContext").path("runAsUser").asInt())
        .isEqualTo(Integer.parseInt(user.group(1)));
    assertThat(r.podSpec().path("securityContext").path("runAsNonRoot").asBoolean()).isTrue();

    assertThat(dockerfile)
        .containsPattern("(?m)^COPY\\s+target/sagaflow\\.jar\\s+/app/sagaflow\\.jar\\s*$");
    // A node binds the API to loopback unless told otherwise; a published port needs more.
    assertThat(dockerfile)
        .as("the image binds the API to every interface of the container")
        .containsPattern("(?m)^ENV\\s+SAGAFLOW_HTTP_HOST=0\\.0\\.0\\.0\\s*$");
    Matcher entrypoint = Pattern.compile("(?m)^ENTRYPOINT\\s+(\\[.*])\\s*$").matcher(dockerfile);
    assertThat(entrypoint.find()).as("an exec-form ENTRYPOINT, so that java gets SIGTERM").isTrue();
    List<String> command = strings(Kustomize.YAML.readTree(entrypoint.group(1)));
    assertThat(command).startsWith("java").endsWith("-jar", "/app/sagaflow.jar");
  }

  @Test
  void theGuideShowsTheCommandsItsReadersNeed() throws IOException {
    String guide = Files.readString(GUIDE, StandardCharsets.UTF_8);
    assertThat(guide)
        .contains("kubectl apply -k k8s/overlays/dev")
        .contains("kubectl apply -k k8s/overlays/prod")
        .contains("docker build -t sagaflow:dev sagas")
        .contains("/v1/sagas?status=FAILED")
        .contains("/retry");
  }

  // --- the rendering of one kustomization, read the way the tests need it ---

  private static Rendering rendering(String dir) {
    return RENDERINGS.computeIfAbsent(
        dir,
        d -> {
          Path path = MODULE.resolve(d);
          return new Rendering(kustomized(d).orElseGet(() -> Kustomize.render(path)));
        });
  }

  private static Optional<List<ObjectNode>> kustomized(String dir) {
    return KUSTOMIZED.computeIfAbsent(dir, d -> Kustomize.kubectl(MODULE.resolve(d)));
  }

  private record Ref(String kind, String name, String key, boolean optional) {}

  private record Rendering(List<ObjectNode> objects) {

    static String name(JsonNode o) {
      return o.path("metadata").path("name").asText();
    }

    List<ObjectNode> all(String kind) {
      return objects.stream().filter(o -> o.path("kind").asText().equals(kind)).toList();
    }

    Optional<ObjectNode> find(String kind, String name) {
      return all(kind).stream().filter(o -> name(o).equals(name)).findFirst();
    }

    ObjectNode one(String kind, String name) {
      return find(kind, name).orElseThrow(() -> new AssertionError("no " + kind + " " + name));
    }

    ObjectNode deployment() {
      return one("Deployment", "sagaflow");
    }

    String namespace() {
      return deployment().path("metadata").path("namespace").asText("default");
    }

    int replicas() {
      return deployment().path("spec").path("replicas").asInt(1);
    }

    JsonNode podTemplate() {
      return deployment().path("spec").path("template");
    }

    JsonNode podSpec() {
      return podTemplate().path("spec");
    }

    List<JsonNode> podTemplates() {
      return objects.stream()
          .map(o -> o.path("spec").path("template"))
          .filter(t -> !t.isMissingNode())
          .toList();
    }

    JsonNode nodeContainer() {
      for (JsonNode container : podSpec().path("containers")) {
        if (container.path("name").asText().equals(NODE_CONTAINER)) {
          return container;
        }
      }
      throw new AssertionError("no container " + NODE_CONTAINER);
    }

    Map<String, Integer> containerPorts() {
      var ports = new LinkedHashMap<String, Integer>();
      nodeContainer()
          .path("ports")
          .forEach(p -> ports.put(p.path("name").asText(), p.path("containerPort").asInt()));
      return ports;
    }

    /** A port given by number or by the name of a node container port. */
    int port(JsonNode port) {
      if (port.isInt()) {
        return port.asInt();
      }
      Integer number = containerPorts().get(port.asText());
      assertThat(number).as("container port named %s", port.asText()).isNotNull();
      return number;
    }

    /**
     * The node container's environment as the kubelet would set it: literal values, pod IP for
     * status.podIP, the ConfigMaps' values, and a stand-in for each Secret value.
     */
    Map<String, String> env() {
      var env = new HashMap<String, String>();
      for (JsonNode source : nodeContainer().path("envFrom")) {
        find("ConfigMap", source.path("configMapRef").path("name").asText())
            .ifPresent(
                map ->
                    map.path("data")
                        .properties()
                        .forEach(e -> env.put(e.getKey(), e.getValue().asText())));
      }
      for (JsonNode var : nodeContainer().path("env")) {
        String name = var.path("name").asText();
        JsonNode from = var.path("valueFrom");
        if (var.has("value")) {
          env.put(name, var.path("value").asText());
        } else if (from.path("fieldRef").path("fieldPath").asText().equals("status.podIP")) {
          env.put(name, POD_IP);
        } else if (from.has("secretKeyRef")) {
          env.put(name, "secret:" + from.path("secretKeyRef").path("name").asText());
        } else {
          throw new AssertionError("env " + name + ": unexpected source " + from);
        }
      }
      return env;
    }

    List<String> javaToolOptions() {
      String options = env().getOrDefault("JAVA_TOOL_OPTIONS", "").trim();
      return options.isEmpty() ? List.of() : List.of(options.split("\\s+"));
    }

    /**
     * The configuration the node would run with in this pod, layered as SagaflowNode.config does:
     * system properties (the -D in JAVA_TOOL_OPTIONS) over sagaflow-node.conf over every
     * reference.conf, with ${?VAR} substitutions taken from the pod's environment.
     */
    Config nodeConfig() {
      var properties = new HashMap<String, String>();
      for (String option : javaToolOptions()) {
        if (option.startsWith("-D")) {
          String[] keyValue = option.substring(2).split("=", 2);
          properties.put(keyValue[0], keyValue.length > 1 ? keyValue[1] : "");
        }
      }
      return ConfigFactory.parseMap(properties)
          .withFallback(NODE_CONFIG_FILES)
          // Substitutions like ${?SAGAFLOW_HTTP_PORT} look for a root key of that name.
          .withFallback(ConfigFactory.parseMap(env()))
          .resolve(ConfigResolveOptions.defaults().setUseSystemEnvironment(false));
    }

    /** Every Secret and ConfigMap the pods reference, with the key when one is named. */
    List<Ref> refs() {
      var refs = new ArrayList<Ref>();
      for (JsonNode template : podTemplates()) {
        for (JsonNode container : containers(template.path("spec"))) {
          for (JsonNode var : container.path("env")) {
            JsonNode from = var.path("valueFrom");
            addRef(refs, "Secret", from.path("secretKeyRef"), true);
            addRef(refs, "ConfigMap", from.path("configMapKeyRef"), true);
          }
          for (JsonNode source : container.path("envFrom")) {
            addRef(refs, "Secret", source.path("secretRef"), false);
            addRef(refs, "ConfigMap", source.path("configMapRef"), false);
          }
        }
        for (JsonNode volume : template.path("spec").path("volumes")) {
          JsonNode secret = volume.path("secret");
          if (!secret.isMissingNode()) {
            refs.add(
                new Ref(
                    "Secret",
                    secret.path("secretName").asText(),
                    null,
                    secret.path("optional").asBoolean(false)));
          }
          addRef(refs, "ConfigMap", volume.path("configMap"), false);
        }
      }
      return refs;
    }

    private static void addRef(List<Ref> refs, String kind, JsonNode ref, boolean keyed) {
      if (!ref.isMissingNode()) {
        refs.add(
            new Ref(
                kind,
                ref.path("name").asText(),
                keyed ? ref.path("key").asText() : null,
                ref.path("optional").asBoolean(false)));
      }
    }
  }

  // --- small helpers ---

  private static List<JsonNode> containers(JsonNode podSpec) {
    var containers = new ArrayList<JsonNode>();
    podSpec.path("initContainers").forEach(containers::add);
    podSpec.path("containers").forEach(containers::add);
    return containers;
  }

  /** The shell command in {@code text} that contains {@code start}, with its continuation lines. */
  private static Optional<String> shellCommand(String text, String start) {
    int at = text.indexOf(start);
    if (at < 0) {
      return Optional.empty();
    }
    int end = at;
    do {
      int newline = text.indexOf('\n', end);
      end = newline < 0 ? text.length() : newline + 1;
    } while (end < text.length() && text.substring(at, end).stripTrailing().endsWith("\\"));
    return Optional.of(text.substring(at, end));
  }

  private static void assertSelects(JsonNode labels, JsonNode selector, String what) {
    assertThat(selector).as("%s selector", what).isNotEmpty();
    selector
        .properties()
        .forEach(
            e ->
                assertThat(labels.path(e.getKey()).asText())
                    .as("%s selects %s", what, e.getKey())
                    .isEqualTo(e.getValue().asText()));
  }

  private static void assertProbe(Rendering r, String probe, String path, int managementPort) {
    JsonNode get = r.nodeContainer().path(probe).path("httpGet");
    assertThat(get.isMissingNode()).as("%s is an HTTP GET", probe).isFalse();
    assertThat(get.path("path").asText()).as("%s path", probe).isEqualTo(path);
    assertThat(r.port(get.path("port"))).as("%s port", probe).isEqualTo(managementPort);
  }

  private static List<String> strings(JsonNode array) {
    var strings = new ArrayList<String>();
    array.forEach(s -> strings.add(s.asText()));
    return strings;
  }

  private static final Pattern QUANTITY = Pattern.compile("([0-9.]+)(m|k|Ki|M|Mi|G|Gi|T|Ti)?");

  /** A Kubernetes quantity (cpu "500m", memory "1Gi") as a number of cores or bytes. */
  private static double quantity(String text) {
    Matcher m = QUANTITY.matcher(text);
    assertThat(m.matches()).as("quantity '%s'", text).isTrue();
    double value = Double.parseDouble(m.group(1));
    String suffix = m.group(2) == null ? "" : m.group(2);
    return value
        * switch (suffix) {
          case "m" -> 1e-3;
          case "k" -> 1e3;
          case "M" -> 1e6;
          case "G" -> 1e9;
          case "T" -> 1e12;
          case "Ki" -> 1024.0;
          case "Mi" -> 1024.0 * 1024;
          case "Gi" -> 1024.0 * 1024 * 1024;
          case "Ti" -> 1024.0 * 1024 * 1024 * 1024;
          default -> 1;
        };
  }
}
