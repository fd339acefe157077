package io.sagaflow.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** When a node traces: only once a variable names where spans go. */
class NodeTracingTest {
  private static final String ENDPOINT = "http://127.0.0.1:4318";

  @Test
  void offWithoutAnExporterEvenWithOtherOtelVariables() {
    assertThat(NodeTracing.configured(Map.of())).isFalse();
    assertThat(NodeTracing.configured(Map.of("OTEL_SERVICE_NAME", "orders"))).isFalse();
    assertThat(NodeTracing.configured(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", " "))).isFalse();

    var off = NodeTracing.fromEnvironment(Map.of("OTEL_SERVICE_NAME", "orders"));
    assertThat(off.enabled()).isFalse();
    assertThat(off.telemetry()).isEmpty();
  }

  @Test
  void onWithAnEndpointOrAnExporter() {
    assertThat(NodeTracing.configured(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", ENDPOINT))).isTrue();
    assertThat(
            NodeTracing.configured(
                Map.of("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", ENDPOINT + "/v1/traces")))
        .isTrue();
    assertThat(NodeTracing.configured(Map.of("OTEL_TRACES_EXPORTER", "otlp"))).isTrue();

    var on = NodeTracing.fromEnvironment(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", ENDPOINT));
    try {
      assertThat(on.enabled()).isTrue();
      assertThat(on.telemetry()).hasSize(1);
    } finally {
      on.close();
    }
  }

  @Test
  void disabledOrNoneWinsOverAnEndpoint() {
    assertThat(
            NodeTracing.configured(
                Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", ENDPOINT, "OTEL_SDK_DISABLED", "true")))
        .isFalse();
    assertThat(
            NodeTracing.configured(
                Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", ENDPOINT, "OTEL_TRACES_EXPORTER", "none")))
        .isFalse();
  }

  @Test
  void variablesTheSdkCannotUseStopTheNodeFromStarting() {
    assertThatThrownBy(
            () ->
                NodeTracing.fromEnvironment(
                    Map.of(
                        "OTEL_EXPORTER_OTLP_ENDPOINT",
                        ENDPOINT,
                        "OTEL_TRACES_SAMPLER",
                        "sometimes")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("OTEL_* variables: ");
  }
}
