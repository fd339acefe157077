package io.sagaflow.orchestrator.history;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class SagaHistoryTest {

  @Test
  void aSagasPersistenceIdNamesTheEntityTypeAndTheSagaId() {
    assertThat(SagaHistory.persistenceId("order-1").id()).isEqualTo("saga|order-1");
    assertThat(SagaHistory.sagaId("saga|order-1")).contains("order-1");
    assertThat(SagaHistory.sagaId("saga|a|b")).contains("a|b");
    assertThat(SagaHistory.sagaId("projection|order-1")).isEmpty();
  }

  @Test
  void everySagaHasOneOfTheIndexTagsAndItsManifestNamesIt() {
    for (String id : Set.of("a", "b", "order-1001", "trip-2001", "")) {
      assertThat(SagaHistory.INDEX_TAGS).contains(SagaHistory.indexTag(id));
    }
    assertThat(SagaHistory.tagManifest("saga-index-2")).isEqualTo("tag:saga-index-2");
  }

  @Test
  void everyEventHasOneStablePublicName() {
    assertThat(Arrays.stream(SagaEvent.class.getPermittedSubclasses()))
        .allSatisfy(
            type ->
                assertThat(EventType.values())
                    .anyMatch(t -> type.getSimpleName().equals(t.publicName())));
    // The names are a public contract (API, event stream, webhooks): changing one breaks clients.
    assertThat(Arrays.stream(EventType.values()).map(EventType::publicName))
        .containsExactly(
            "SagaStarted",
            "StepSucceeded",
            "SagaCompleted",
            "StepAttemptFailed",
            "StepFailed",
            "CompensationStarted",
            "CompensationAttemptFailed",
            "StepCompensated",
            "CompensationFailed",
            "SagaFailed",
            "SagaResumed",
            "StepFailedAfterPivot",
            "CompensationSkipped",
            "BranchesStarted",
            "BranchSucceeded",
            "BranchFailed",
            "BranchSettled",
            "SignalReceived");
    assertThat(
            Arrays.stream(EventType.values())
                .map(EventType::publicName)
                .collect(Collectors.toSet()))
        .hasSize(SagaEvent.class.getPermittedSubclasses().length);
    assertThat(EventType.named("StepFailed")).contains(EventType.STEP_FAILED);
    assertThat(EventType.named("io.sagaflow.orchestrator.history.SagaEvent$StepFailed")).isEmpty();
  }
}
