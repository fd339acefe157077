package io.sagaflow.orchestrator.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;

class SagaMdcTest {

  @AfterEach
  void clear() {
    MDC.clear();
  }

  @Test
  void aScopeSetsTheSagaKeysAndItsCloseRemovesThem() {
    try (var scope = SagaMdc.open(SagaMdc.of("s-1", "order", "charge", 2))) {
      assertThat(MDC.getCopyOfContextMap())
          .containsExactlyInAnyOrderEntriesOf(
              Map.of(
                  "sagaId", "s-1", "sagaType", "order", "sagaStep", "charge", "sagaAttempt", "2"));
    }
    assertThat(MDC.getCopyOfContextMap()).isNullOrEmpty();
  }

  @Test
  void aNestedScopeHidesTheOuterSagasKeysAndPutsThemBack() {
    MDC.put("other", "kept");
    try (var outer = SagaMdc.open(SagaMdc.of("s-1", "order", "charge", 2))) {
      try (var inner = SagaMdc.open("s-2")) {
        assertThat(MDC.getCopyOfContextMap())
            .containsExactlyInAnyOrderEntriesOf(Map.of("sagaId", "s-2", "other", "kept"));
      }
      assertThat(MDC.get("sagaId")).isEqualTo("s-1");
      assertThat(MDC.get("sagaStep")).isEqualTo("charge");
    }
    assertThat(MDC.getCopyOfContextMap()).containsExactlyEntriesOf(Map.of("other", "kept"));
  }

  @Test
  void missingValuesAreLeftOut() {
    assertThat(SagaMdc.of("s-1", null, "", 0)).containsExactlyEntriesOf(Map.of("sagaId", "s-1"));
  }

  @Test
  void aParticipantCallsHeadersNameItsSagaStepAndAttemptAndNothingElse() {
    Map<String, String> headers =
        Map.of(
            "Saga-Id", "s-1",
            "Saga-Type", "order",
            "Saga-Step", "charge",
            "Saga-Attempt", "3",
            "Idempotency-Key", "s-1/charge",
            "Authorization", "Bearer secret");

    assertThat(SagaMdc.ofHeaders(headers))
        .containsExactlyInAnyOrderEntriesOf(
            Map.of("sagaId", "s-1", "sagaType", "order", "sagaStep", "charge", "sagaAttempt", "3"));
    assertThat(SagaMdc.ofHeaders(Map.of())).isEmpty();
  }
}
