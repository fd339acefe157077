package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.sagaflow.orchestrator.history.EventType;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EventQueryTest {

  @Test
  void readsTheFiltersAndTheOffsetToResumeAfter() throws InvalidRequest {
    EventQuery query =
        EventQuery.parse(
            List.of(
                Map.entry("type", "order,trip"),
                Map.entry("event", "SagaFailed, StepFailed"),
                Map.entry("after", "7")),
            Optional.empty());
    assertThat(query.filter().sagaTypes()).containsExactlyInAnyOrder("order", "trip");
    assertThat(query.filter().eventTypes())
        .containsExactlyInAnyOrder(EventType.SAGA_FAILED, EventType.STEP_FAILED);
    assertThat(query.after()).hasValue(7);
  }

  @Test
  void lastEventIdWinsOverAfterAndNeitherMeansFromNow() throws InvalidRequest {
    assertThat(EventQuery.parse(List.of(Map.entry("after", "7")), Optional.of("42")).after())
        .hasValue(42);
    EventQuery none = EventQuery.parse(List.of(), Optional.empty());
    assertThat(none.after()).isEmpty();
    assertThat(none.filter().acceptsEvent(EventType.SAGA_STARTED)).isTrue();
    assertThat(none.filter().acceptsSagaType("any")).isTrue();
  }

  @Test
  void refusesUnknownEventTypesBadOffsetsAndOtherParameters() {
    assertThatThrownBy(
            () -> EventQuery.parse(List.of(Map.entry("event", "Nope")), Optional.empty()))
        .isInstanceOfSatisfying(
            InvalidRequest.class,
            e -> assertThat(e.problem().detail()).contains("Nope").contains("SagaStarted"));
    assertThatThrownBy(() -> EventQuery.parse(List.of(), Optional.of("-1")))
        .isInstanceOfSatisfying(
            InvalidRequest.class, e -> assertThat(e.problem().field()).isEqualTo("Last-Event-ID"));
    assertThatThrownBy(() -> EventQuery.parse(List.of(Map.entry("after", "x")), Optional.empty()))
        .isInstanceOfSatisfying(
            InvalidRequest.class, e -> assertThat(e.problem().field()).isEqualTo("after"));
    assertThatThrownBy(() -> EventQuery.parse(List.of(Map.entry("limit", "1")), Optional.empty()))
        .isInstanceOf(InvalidRequest.class);
  }
}
