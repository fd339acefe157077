package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class HttpMetricsTest {

  @ParameterizedTest
  @CsvSource({
    "/, /",
    "/metrics, /metrics",
    "/ui/app.js, /ui/{file}",
    "/openapi.yaml, /openapi.yaml",
    "/v1/sagas, /v1/sagas",
    "/v1/sagas/order-42, /v1/sagas/{id}",
    "/v1/sagas/order-42/events, /v1/sagas/{id}/events",
    "/v1/sagas/order-42/cancel, /v1/sagas/{id}/cancel",
    "/v1/sagas/order-42/retry, /v1/sagas/{id}/retry",
    "/v1/sagas/order-42/signals/paid, /v1/sagas/{id}/signals/{name}",
    "/v1/saga-types, /v1/saga-types",
    "/v1/saga-types/order, /v1/saga-types/{type}",
    "/v1/events, /v1/events",
    "/v1/subscriptions, /v1/subscriptions",
    "/v1/subscriptions/s-1, /v1/subscriptions/{id}",
    "/v1/subscriptions/s-1/resume, /v1/subscriptions/{id}/resume",
  })
  void aPathTheApiServesIsItsRouteTemplate(String path, String route) {
    assertThat(HttpMetrics.route(path)).isEqualTo(route);
  }

  @ParameterizedTest
  @CsvSource({
    "/v1/sagas/order-42/refund",
    "/v1/sagas/order-42/events/1",
    "/v1/sagas/",
    "/v1/sagas//events",
    "/v1",
    "/v2/sagas",
    "/metrics/order-42",
    "/favicon.ico",
    "/ui/",
    "/ui/a/b.js",
    "/order-42",
    "/v1/saga-types/order/versions",
    "/v1/unknown/order-42",
  })
  void anyOtherPathIsOtherNeverItself(String path) {
    assertThat(HttpMetrics.route(path)).isEqualTo("other");
  }
}
