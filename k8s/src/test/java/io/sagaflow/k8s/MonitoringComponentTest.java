package io.sagaflow.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sagaflow.sagas.LogFormat;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The optional monitoring component (k8s/components/monitoring): it renders into an overlay, its
 * PodMonitor scrapes the node pods' /metrics, its dashboard is Grafana JSON whose every panel has a
 * query, its PrometheusRule has the alerts the guide promises, and every metric a panel or rule
 * uses is one the node exposes (for now: the names of the metrics contract,
 * src/test/resources/metrics-contract.txt). Also: the nodes log JSON in the cluster.
 */
class MonitoringComponentTest {
  private static final Path MODULE = Path.of(System.getProperty("basedir", ".")).toAbsolutePath();
  static final Path COMPONENT = MODULE.resolve("components/monitoring");
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final Set<String> ALERTS =
      Set.of(
          "SagaflowSagasFailed",
          "SagaflowSagaPastDeadline",
          "SagaflowIndexLagHigh",
          "SagaflowIndexLagGrowing",
          "SagaflowJournalWriteErrors",
          "SagaflowParticipantBreakerOpen");

  private static final List<String> PANELS =
      List.of(
          "Sagas started and finished",
          "Sagas in flight by status",
          "FAILED: waiting for an operator",
          "Oldest unfinished saga vs its deadline",
          "Attempts by outcome",
          "Attempt latency p50 / p99 by participant",
          "Duplicates absorbed by kind",
          "Retries and Retry-After honoured",
          "Circuit breakers not closed",
          "Journal write latency p50 / p99",
          "Journal batch size",
          "Saga index lag",
          "Recovery sweeps",
          "JVM heap used per node",
          "GC pauses per node");

  @Test
  void anOverlayWithTheComponentRendersTheSameInJavaAsWithKustomize() throws IOException {
    Path overlay = overlayWithComponent();
    List<ObjectNode> java = Kustomize.render(overlay);
    Kustomize.kubectl(overlay)
        .ifPresent(
            kustomize ->
                assertThat(Kustomize.normalized(java))
                    .as("Kustomize.render vs kubectl kustomize of %s", overlay)
                    .isEqualTo(Kustomize.normalized(kustomize)));
    Map<String, JsonNode> objects = Kustomize.normalized(java);
    assertThat(objects)
        .containsKeys(
            "ConfigMap/sagaflow/sagaflow-dashboard",
            "PodMonitor/sagaflow/sagaflow",
            "PrometheusRule/sagaflow/sagaflow",
            "Deployment/sagaflow/sagaflow");

    JsonNode dashboard = objects.get("ConfigMap/sagaflow/sagaflow-dashboard");
    assertThat(dashboard.path("metadata").path("labels").path("grafana_dashboard").asText())
        .as("the label Grafana's dashboard sidecar looks for")
        .isEqualTo("1");
    assertThat(JSON.readTree(dashboard.path("data").path("sagaflow-dashboard.json").asText()))
        .isEqualTo(JSON.readTree(COMPONENT.resolve("sagaflow-dashboard.json").toFile()));

    JsonNode pod = objects.get("Deployment/sagaflow/sagaflow").path("spec").path("template");
    JsonNode monitor = objects.get("PodMonitor/sagaflow/sagaflow").path("spec");
    monitor
        .path("selector")
        .path("matchLabels")
        .properties()
        .forEach(
            label ->
                assertThat(pod.path("metadata").path("labels").path(label.getKey()).asText())
                    .as("the node pods' label %s, which the PodMonitor selects", label.getKey())
                    .isEqualTo(label.getValue().asText()));
    JsonNode endpoint = monitor.path("podMetricsEndpoints").get(0);
    assertThat(endpoint.path("path").asText()).isEqualTo("/metrics");
    List<String> ports = new ArrayList<>();
    for (JsonNode container : pod.path("spec").path("containers")) {
      container.path("ports").forEach(p -> ports.add(p.path("name").asText()));
    }
    assertThat(endpoint.path("port").asText())
        .as("the port the PodMonitor scrapes: the HTTP API's, which serves /metrics")
        .isEqualTo("http")
        .isIn(ports);
  }

  @Test
  void theDashboardIsGrafanaJsonAndEveryPanelHasAQuery() throws IOException {
    JsonNode dashboard = JSON.readTree(COMPONENT.resolve("sagaflow-dashboard.json").toFile());
    assertThat(dashboard.path("uid").asText()).isEqualTo("sagaflow");
    assertThat(dashboard.path("title").asText()).isEqualTo("Sagaflow");

    List<JsonNode> panels = new ArrayList<>();
    Set<Integer> ids = new TreeSet<>();
    for (JsonNode panel : dashboard.path("panels")) {
      assertThat(ids.add(panel.path("id").asInt())).as("panel ids are unique").isTrue();
      assertThat(panel.path("gridPos").path("w").asInt()).isPositive();
      if (!panel.path("type").asText().equals("row")) {
        panels.add(panel);
      }
    }
    assertThat(panels)
        .extracting(p -> p.path("title").asText())
        .as("the dashboard's panels")
        .containsAll(PANELS);
    assertThat(panels)
        .allSatisfy(
            panel -> {
              assertThat(panel.path("datasource").path("uid").asText())
                  .as("the datasource of '%s'", panel.path("title").asText())
                  .isEqualTo("${datasource}");
              assertThat(panel.path("targets"))
                  .as("the queries of '%s'", panel.path("title").asText())
                  .isNotEmpty()
                  .allSatisfy(t -> assertThat(t.path("expr").asText()).isNotBlank());
            });
  }

  @Test
  void theRulesAreAPrometheusRuleWithTheAlertsTheGuidePromises() {
    List<ObjectNode> objects = Kustomize.readAll(COMPONENT.resolve("prometheus-rules.yaml"));
    assertThat(objects).hasSize(1);
    assertThat(objects.get(0).path("apiVersion").asText()).isEqualTo("monitoring.coreos.com/v1");
    assertThat(objects.get(0).path("kind").asText()).isEqualTo("PrometheusRule");

    List<JsonNode> rules = MetricNames.rules(COMPONENT.resolve("prometheus-rules.yaml"));
    assertThat(rules)
        .extracting(r -> r.path("alert").asText())
        .containsExactlyInAnyOrderElementsOf(ALERTS);
    assertThat(rules)
        .allSatisfy(
            rule -> {
              String alert = rule.path("alert").asText();
              assertThat(rule.path("expr").asText()).as("expr of %s", alert).isNotBlank();
              assertThat(rule.path("for").asText()).as("for of %s", alert).matches("\\d+[smh]");
              assertThat(rule.path("labels").path("severity").asText())
                  .as("severity of %s", alert)
                  .isIn("warning", "critical");
              assertThat(rule.path("annotations").path("summary").asText()).isNotBlank();
              assertThat(rule.path("annotations").path("description").asText()).isNotBlank();
            });
    try {
      String guide = Files.readString(MODULE.resolve("README.md"), StandardCharsets.UTF_8);
      assertThat(guide).as("k8s/README.md names every alert").contains(ALERTS);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void everyMetricThePanelsAndRulesUseIsInTheMetricsContract() throws IOException {
    Set<String> used = MetricNames.metricNamesUsed(COMPONENT);

    assertThat(used)
        .as("a sanity check of the extraction")
        .contains(
            "sagaflow_sagas_in_flight",
            "sagaflow_step_attempt_duration_seconds_bucket",
            "sagaflow_journal_write_errors_total",
            "jvm_memory_used_bytes");
    assertThat(MetricNames.notExposed(used, contract()))
        .as("metrics the dashboard or the rules use that no node exposes")
        .isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"overlays/dev", "overlays/prod"})
  void theNodesLogJsonInTheCluster(String overlay) {
    JsonNode container =
        Kustomize.render(MODULE.resolve(overlay)).stream()
            .filter(o -> o.path("kind").asText().equals("Deployment"))
            .findFirst()
            .orElseThrow()
            .path("spec")
            .path("template")
            .path("spec")
            .path("containers")
            .get(0);
    List<String> values = new ArrayList<>();
    for (JsonNode env : container.path("env")) {
      if (env.path("name").asText().equals(LogFormat.SETTING)) {
        values.add(env.path("value").asText());
      }
    }
    assertThat(values).as("%s of the node container", LogFormat.SETTING).containsExactly("json");
  }

  /** The names of src/test/resources/metrics-contract.txt. */
  static Set<String> contract() throws IOException {
    try (InputStream in =
        MonitoringComponentTest.class.getResourceAsStream("/metrics-contract.txt")) {
      var names = new TreeSet<String>();
      new String(in.readAllBytes(), StandardCharsets.UTF_8)
          .lines()
          .map(String::strip)
          .filter(line -> !line.isEmpty() && !line.startsWith("#"))
          .forEach(names::add);
      return names;
    }
  }

  /** An overlay of the base and the component, written under target/ (kustomize needs a file). */
  private static Path overlayWithComponent() throws IOException {
    Path overlay = MODULE.resolve("target/monitoring-overlay");
    Files.createDirectories(overlay);
    Files.writeString(
        overlay.resolve("kustomization.yaml"),
        String.join(
            "\n",
            "apiVersion: kustomize.config.k8s.io/v1beta1",
            "kind: Kustomization",
            "namespace: sagaflow",
            "resources:",
            "  - ../../base",
            "components:",
            "  - ../../components/monitoring",
            ""));
    return overlay;
  }
}
