package io.sagaflow.orchestrator.dsl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** What {@code build()} says of steps that wait for a signal, naming the step and the problem. */
class AwaitSignalDefinitionTest {
  private static final LocalCall<Object> WORK = LocalCall.of(ctx -> "done");

  @Test
  void aSignalStepNeedsNoCompensationAndListsItsSignal() {
    var definition =
        SagaDefinition.builder("approved")
            .step(Step.named("reserve").invoke(WORK).compensateWith(WORK))
            .step(
                Step.named("approval")
                    .awaitSignal(AwaitSignal.named("approval"))
                    .timeout(Duration.ofHours(24)))
            .step(Step.named("charge").invoke(WORK).noCompensation())
            .build();
    assertThat(definition.signals()).containsExactly("approval");
    assertThat(definition.signalStep("approval").orElseThrow().name()).isEqualTo("approval");
    assertThat(definition.step("approval").compensation()).isEmpty();
  }

  @Test
  void aSignalStepCannotBeUndoneNorAFanOutNorABranch() {
    assertThatThrownBy(
            () ->
                SagaDefinition.builder("s")
                    .step(
                        Step.named("approval")
                            .awaitSignal(AwaitSignal.named("approval"))
                            .compensateWith(WORK))
                    .build())
        .hasMessageContaining("step 'approval'")
        .hasMessageContaining("waits for a signal, which changes nothing");
    assertThatThrownBy(
            () ->
                SagaDefinition.builder("s")
                    .group(
                        "both",
                        g ->
                            g.step(Step.named("a").invoke(WORK).compensateWith(WORK))
                                .step(Step.named("ok").awaitSignal(AwaitSignal.named("ok"))))
                    .build())
        .hasMessageContaining("step 'ok'")
        .hasMessageContaining("cannot wait for a signal");
  }

  @Test
  void aSignalsNameIsAPathSegmentAndARuleNeedsAReason() {
    assertThatThrownBy(
            () ->
                SagaDefinition.builder("s")
                    .step(Step.named("approval").awaitSignal(AwaitSignal.named("no/slash")))
                    .build())
        .hasMessageContaining("step 'approval'")
        .hasMessageContaining("signal named 'no/slash'");
    assertThatThrownBy(
            () ->
                SagaDefinition.builder("s")
                    .step(
                        Step.named("approval")
                            .awaitSignal(
                                AwaitSignal.named("approval")
                                    .rejectIf(String.class, s -> true, null)))
                    .build())
        .hasMessageContaining("rejectIf(...) without a rule or a reason");
  }
}
