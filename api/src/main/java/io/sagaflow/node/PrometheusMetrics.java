package io.sagaflow.node;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.sagaflow.api.HttpMetrics;
import io.sagaflow.orchestrator.SagaRegistry;
import io.sagaflow.orchestrator.telemetry.NodeMetrics;
import io.sagaflow.orchestrator.telemetry.SagaMetrics;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The node's metrics, in one Prometheus registry served as {@code GET /metrics} on the API port:
 * the sagas' own ({@link SagaMetrics}), those of the code Pekko constructs ({@link NodeMetrics}:
 * the journal's writer, the participants' circuit breakers, the connection pools), the HTTP API's,
 * the gauges read from the saga index ({@link GaugeRefresher}) and the JVM's.
 *
 * <p>On the API port, outside {@code /v1}, so that no API token is needed: Prometheus scrapes the
 * port the NetworkPolicy already opens to the cluster, where the management port answers only the
 * other nodes (it serves Cluster Bootstrap and the cluster's internals).
 */
final class PrometheusMetrics {

  private final PrometheusMeterRegistry registry;
  private final JvmGcMetrics gc;

  private PrometheusMetrics(PrometheusMeterRegistry registry, JvmGcMetrics gc) {
    this.registry = registry;
    this.gc = gc;
  }

  /**
   * A registry for {@code system}'s node, with the JVM's meters, that receives every meter
   * registered in {@link NodeMetrics} (before and after); closed with the actor system.
   */
  static PrometheusMetrics start(ActorSystem<?> system) {
    var registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    registry.config().meterFilter(NodeMetrics.NO_CLIENT_PERCENTILES);
    new ClassLoaderMetrics().bindTo(registry);
    new JvmMemoryMetrics().bindTo(registry);
    var gc = new JvmGcMetrics();
    gc.bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    new UptimeMetrics().bindTo(registry);
    new FileDescriptorMetrics().bindTo(registry);
    NodeMetrics.get(system.classicSystem()).add(registry);
    var metrics = new PrometheusMetrics(registry, gc);
    system.getWhenTerminated().thenRun(metrics::close);
    return metrics;
  }

  MeterRegistry registry() {
    return registry;
  }

  /** What the sagas tell this registry; every registered type shows zeros from the start. */
  SagaTelemetry sagas(SagaRegistry definitions) {
    return new SagaMetrics(registry, definitions);
  }

  /** Every meter, in Prometheus' text format (0.0.4), for {@code GET /metrics}. */
  String scrape() {
    return registry.scrape();
  }

  /** {@code routes}, every request measured as {@code http_server_requests_seconds}. */
  Route measured(Route routes) {
    return new HttpMetrics(registry).measured(routes);
  }

  private void close() {
    // The GC binder listens to the JVM's notifications: a node stopped in a JVM that goes on (the
    // tests) must not leave it behind.
    gc.close();
    registry.close();
  }
}
