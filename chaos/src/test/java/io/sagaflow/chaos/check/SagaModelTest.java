package io.sagaflow.chaos.check;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.chaos.format.Jsonl;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import org.junit.jupiter.api.Test;

class SagaModelTest {

  private static SagaModel replay(String... events) {
    var rows = new ArrayList<JournalRow>();
    for (int i = 0; i < events.length; i++) {
      String type = events[i].substring(0, events[i].indexOf(' '));
      rows.add(
          new JournalRow("s", i + 1, "w", 0, type, json(events[i].substring(type.length() + 1))));
    }
    return SagaModel.replay(rows);
  }

  private static final String STARTED =
      "SagaStarted {\"type\":\"chaos\",\"firstStep\":\"reserve\"}";
  private static final String RESERVED =
      "StepSucceeded {\"step\":\"reserve\",\"nextStep\":\"charge\"}";

  @Test
  void aCancelCountsTheStepInFlightAsUncertainAndUndoesNewestFirst() {
    SagaModel m =
        replay(
            STARTED,
            RESERVED,
            "CompensationStarted {\"compensations\":[\"charge\",\"reserve\"]}",
            "StepCompensated {\"step\":\"charge\",\"sagaCompensated\":false}",
            "CompensationAttemptFailed {\"step\":\"reserve\"}",
            "StepCompensated {\"step\":\"reserve\",\"sagaCompensated\":true}");
    assertThat(m.illegal()).isNull();
    assertThat(m.status()).isEqualTo(SagaModel.Status.COMPENSATED);
    assertThat(m.uncertain()).containsExactly("charge");
  }

  @Test
  void aCancelledStepWhoseAwaitedCallWasRejectedIsLeftOutAndCountsAsRejected() {
    SagaModel m =
        replay(
            STARTED,
            RESERVED,
            "CompensationStarted {\"compensations\":[\"charge\",\"reserve\"]}",
            "CompensationSkipped {\"step\":\"charge\",\"sagaCompensated\":false}",
            "StepCompensated {\"step\":\"reserve\",\"sagaCompensated\":true}");
    assertThat(m.illegal()).isNull();
    assertThat(m.status()).isEqualTo(SagaModel.Status.COMPENSATED);
    assertThat(m.uncertain()).isEmpty();
    assertThat(m.rejected()).containsExactly("charge");
    assertThat(m.compensationsDue()).containsExactly("reserve");
  }

  @Test
  void onlyTheAwaitedStepsCompensationMayBeLeftOutAndOnlyBeforeAnyAttemptOfIt() {
    String cancelled = "CompensationStarted {\"compensations\":[\"charge\",\"reserve\"]}";
    assertThat(
            replay(
                    STARTED,
                    RESERVED,
                    cancelled,
                    "CompensationAttemptFailed {\"step\":\"charge\"}",
                    "CompensationSkipped {\"step\":\"charge\",\"sagaCompensated\":false}")
                .illegal())
        .contains("before any attempt of it");
    assertThat(
            replay(
                    STARTED,
                    RESERVED,
                    cancelled,
                    "StepCompensated {\"step\":\"charge\",\"sagaCompensated\":false}",
                    "CompensationSkipped {\"step\":\"reserve\",\"sagaCompensated\":true}")
                .illegal())
        .contains("only the compensation of the step a cancel or the deadline left in flight");
    assertThat(
            replay(
                    STARTED,
                    RESERVED,
                    "StepFailed {\"step\":\"charge\",\"uncertain\":true,"
                        + "\"compensations\":[\"charge\",\"reserve\"]}",
                    "CompensationSkipped {\"step\":\"charge\",\"sagaCompensated\":false}")
                .illegal())
        .contains("only the compensation of the step a cancel or the deadline left in flight");
  }

  @Test
  void aFailedCompensationResumesWhereItStopped() {
    SagaModel m =
        replay(
            STARTED,
            RESERVED,
            "StepFailed {\"step\":\"charge\",\"uncertain\":false,\"compensations\":[\"reserve\"]}",
            "CompensationFailed {\"step\":\"reserve\",\"reason\":\"rejected\"}",
            "SagaResumed {}",
            "StepCompensated {\"step\":\"reserve\",\"sagaCompensated\":true}");
    assertThat(m.illegal()).isNull();
    assertThat(m.status()).isEqualTo(SagaModel.Status.COMPENSATED);
    assertThat(m.rejected()).containsExactly("charge");
  }

  @Test
  void refusesWhatTheStateMachineCannotWrite() {
    assertThat(replay(RESERVED).illegal()).contains("must begin with SagaStarted");
    assertThat(
            replay(STARTED, "StepSucceeded {\"step\":\"reserve\",\"nextStep\":\"confirm\"}")
                .illegal())
        .contains("next step 'confirm' is not 'charge'");
    assertThat(
            replay(
                    STARTED,
                    RESERVED,
                    "StepFailed {\"step\":\"charge\",\"uncertain\":true,\"compensations\":[\"reserve\"]}")
                .illegal())
        .contains("expected [charge, reserve]");
    assertThat(
            replay(
                    STARTED,
                    RESERVED,
                    "StepSucceeded {\"step\":\"charge\",\"nextStep\":\"confirm\"}",
                    "CompensationStarted {\"compensations\":[\"charge\",\"reserve\"]}")
                .illegal())
        .contains("once the pivot was reached");
    assertThat(replay(STARTED, "SagaExploded {}").illegal())
        .contains("not an event of the saga state machine");
  }

  private static JsonNode json(String text) {
    try {
      return Jsonl.MAPPER.readTree(text);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
