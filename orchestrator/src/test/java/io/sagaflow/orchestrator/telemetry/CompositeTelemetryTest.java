package io.sagaflow.orchestrator.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.orchestrator.telemetry.SagaTelemetry.Trace;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Several telemetries as one: the first chooses a saga's trace. */
class CompositeTelemetryTest {

  @Test
  void aSagasTraceIsTheFirstTelemetrysChoice() {
    var chosen = new Trace("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7");
    SagaTelemetry tracing =
        new SagaTelemetry() {
          @Override
          public Trace startTrace(String sagaId, String sagaType, String requestTraceparent) {
            return chosen;
          }
        };

    assertThat(SagaTelemetry.of(List.of(tracing, SagaTelemetry.NONE)).startTrace("o", "t", null))
        .isEqualTo(chosen);
    assertThat(SagaTelemetry.of(List.of(SagaTelemetry.NONE, tracing)).startTrace("o", "t", null))
        .isNotEqualTo(chosen);
  }
}
