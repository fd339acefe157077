package io.sagaflow.node;

import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigProperties;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry;
import io.sagaflow.orchestrator.telemetry.SagaTracing;
import java.net.URI;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A node's traces, configured by the standard {@code OTEL_*} environment variables. Off, with no
 * OpenTelemetry SDK at all, unless an exporter is named: {@code OTEL_EXPORTER_OTLP_ENDPOINT} (or
 * {@code OTEL_EXPORTER_OTLP_TRACES_ENDPOINT}), or {@code OTEL_TRACES_EXPORTER} other than {@code
 * none}; {@code OTEL_SDK_DISABLED=true} keeps it off. A variable such as {@code OTEL_SERVICE_NAME}
 * alone does not turn it on, so that a node never sends spans to a default endpoint nobody chose.
 *
 * <p>When on, the SDK's autoconfiguration reads every {@code OTEL_*} variable as usual, with
 * Sagaflow's defaults below them: service name {@code sagaflow}, OTLP over {@code http/protobuf}
 * (sent by the JDK's HTTP client; gRPC would need OkHttp, which the node leaves out), and no
 * metrics or logs exporter. The SDK is not made global, and it is flushed and shut down by the
 * node's coordinated shutdown, after the sagas are handed over.
 */
final class NodeTracing {
  private static final Logger log = LoggerFactory.getLogger(NodeTracing.class);

  /** Below every {@code OTEL_*} variable. */
  private static final Map<String, String> DEFAULTS =
      Map.of(
          "otel.service.name", "sagaflow",
          "otel.traces.exporter", "otlp",
          "otel.exporter.otlp.protocol", "http/protobuf",
          "otel.metrics.exporter", "none",
          "otel.logs.exporter", "none");

  private final OpenTelemetrySdk sdk;

  private NodeTracing(OpenTelemetrySdk sdk) {
    this.sdk = sdk;
  }

  /**
   * Tracing as {@code env} configures it; logs once whether it is on and where spans go.
   *
   * @throws IllegalArgumentException when the {@code OTEL_*} variables cannot be used
   */
  static NodeTracing fromEnvironment(Map<String, String> env) {
    if (!configured(env)) {
      log.info(
          "Traces off{}",
          "true".equalsIgnoreCase(value(env, "OTEL_SDK_DISABLED"))
              ? " (OTEL_SDK_DISABLED=true)"
              : ": set OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_TRACES_EXPORTER) to export them");
      return new NodeTracing(null);
    }
    Map<String, String> variables = otelProperties(env);
    var used = new AtomicReference<ConfigProperties>();
    AutoConfiguredOpenTelemetrySdk configured;
    try {
      configured =
          AutoConfiguredOpenTelemetrySdk.builder()
              .addPropertiesSupplier(() -> DEFAULTS)
              // The node's variables win over the process's, as everywhere else in the node.
              .addPropertiesCustomizer(config -> variables)
              .addSpanExporterCustomizer(
                  (exporter, config) -> {
                    used.set(config);
                    return exporter;
                  })
              .disableShutdownHook()
              .build();
    } catch (ConfigurationException e) {
      throw new IllegalArgumentException("OTEL_* variables: " + e.getMessage(), e);
    }
    ConfigProperties config = used.get();
    log.info(
        "Traces on: service '{}', exporter {}{}",
        config == null ? "?" : config.getString("otel.service.name"),
        config == null ? "?" : config.getString("otel.traces.exporter"),
        config == null ? "" : otlpTarget(config));
    return new NodeTracing(configured.getOpenTelemetrySdk());
  }

  /** Whether the variables name somewhere to send spans. */
  static boolean configured(Map<String, String> env) {
    if ("true".equalsIgnoreCase(value(env, "OTEL_SDK_DISABLED"))) {
      return false;
    }
    String exporter = value(env, "OTEL_TRACES_EXPORTER");
    if (exporter != null) {
      return !exporter.equalsIgnoreCase("none");
    }
    return value(env, "OTEL_EXPORTER_OTLP_ENDPOINT") != null
        || value(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != null;
  }

  private static String value(Map<String, String> env, String name) {
    String value = env.get(name);
    return value == null || value.isBlank() ? null : value.trim();
  }

  /** {@code OTEL_EXPORTER_OTLP_ENDPOINT} as the property {@code otel.exporter.otlp.endpoint}. */
  private static Map<String, String> otelProperties(Map<String, String> env) {
    var properties = new HashMap<String, String>();
    env.forEach(
        (name, value) -> {
          if (name.startsWith("OTEL_")) {
            properties.put(name.toLowerCase(Locale.ROOT).replace('_', '.'), value);
          }
        });
    return properties;
  }

  /**
   * Where OTLP sends spans, as " over http/protobuf to scheme://host:port/path": never the headers
   * (they carry credentials), nor a user or query in the URL.
   */
  private static String otlpTarget(ConfigProperties config) {
    List<String> exporters = config.getList("otel.traces.exporter");
    if (!exporters.contains("otlp")) {
      return "";
    }
    String protocol =
        Optional.ofNullable(config.getString("otel.exporter.otlp.traces.protocol"))
            .orElse(config.getString("otel.exporter.otlp.protocol"));
    String endpoint = config.getString("otel.exporter.otlp.traces.endpoint");
    if (endpoint == null) {
      String base =
          Optional.ofNullable(config.getString("otel.exporter.otlp.endpoint"))
              .orElse("http://localhost:4318");
      endpoint = base.endsWith("/") ? base + "v1/traces" : base + "/v1/traces";
    }
    return " over " + protocol + " to " + withoutSecrets(endpoint);
  }

  private static String withoutSecrets(String endpoint) {
    try {
      URI uri = URI.create(endpoint);
      return new URI(uri.getScheme(), null, uri.getHost(), uri.getPort(), uri.getPath(), null, null)
          .toString();
    } catch (Exception e) {
      return "(an endpoint that is not a URL)";
    }
  }

  /** Whether spans are made and exported. */
  boolean enabled() {
    return sdk != null;
  }

  /** What the engine tells: the tracing first, as {@link SagaTelemetry#of} wants it. */
  List<SagaTelemetry> telemetry() {
    return sdk == null ? List.of() : List.of(new SagaTracing(sdk));
  }

  /** Flushes and shuts the SDK down once the sagas are handed over, just before the system ends. */
  void closeOnShutdown(ActorSystem<?> system) {
    if (sdk == null) {
      return;
    }
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseBeforeActorSystemTerminate(),
            "sagaflow-flush-traces",
            () -> completion(sdk.shutdown()));
  }

  /** Shuts the SDK down now, for a node that did not start. */
  void close() {
    if (sdk != null) {
      sdk.shutdown().join(10, TimeUnit.SECONDS);
    }
  }

  private static CompletionStage<Done> completion(CompletableResultCode result) {
    var done = new CompletableFuture<Done>();
    // A failed export is the SDK's to log; shutdown goes on either way.
    result.whenComplete(() -> done.complete(Done.done()));
    return done;
  }
}
