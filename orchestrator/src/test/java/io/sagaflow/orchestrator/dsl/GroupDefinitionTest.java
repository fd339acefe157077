package io.sagaflow.orchestrator.dsl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Parallel groups and fan-outs in the DSL: what {@code build()} makes of them and refuses. */
class GroupDefinitionTest {
  private static final LocalCall<Object> NOOP =
      LocalCall.of(ctx -> CompletableFuture.completedFuture("ok"));

  private static SagaDefinition.Builder<JsonNode> saga() {
    return SagaDefinition.builder("trip");
  }

  private static StepBuilder<Object, JsonNode> undoable(String name) {
    return Step.named(name).invoke(NOOP).compensateWith(NOOP);
  }

  @Test
  void aGroupIsOneStageOfBranchesAndEveryBranchIsAStepOfItsOwn() {
    var definition =
        saga()
            .step(undoable("quote"))
            .group("book", g -> g.step(undoable("flight")).step(undoable("hotel")))
            .step(Step.named("pay").invoke(NOOP).pivot())
            .group(
                "tell", g -> g.step("email", s -> s.invoke(NOOP)).step("sms", s -> s.invoke(NOOP)))
            .build();

    assertThat(definition.stages())
        .extracting(Stage::name, Stage::group)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("quote", false),
            org.assertj.core.groups.Tuple.tuple("book", true),
            org.assertj.core.groups.Tuple.tuple("pay", false),
            org.assertj.core.groups.Tuple.tuple("tell", true));
    assertThat(definition.stepNames())
        .containsExactly("quote", "flight", "hotel", "pay", "email", "sms");
    assertThat(definition.step("hotel").group()).contains("book");
    assertThat(definition.step("sms").kind()).isEqualTo(StepKind.RETRIABLE);
    assertThat(definition.stageAfter("book").orElseThrow().name()).isEqualTo("pay");
    assertThat(definition.findStep("book")).isEmpty();
  }

  @Test
  void refusesAPivotInsideAGroup() {
    assertThatThrownBy(
            () ->
                saga()
                    .group(
                        "book",
                        g ->
                            g.step(undoable("flight")).step(Step.named("pay").invoke(NOOP).pivot()))
                    .build())
        .hasMessageContaining(
            "saga 'trip' group 'book' step 'pay': is the pivot, which cannot be inside a parallel"
                + " group");
  }

  @Test
  void refusesAGroupOfOneAndANameTakenTwice() {
    assertThatThrownBy(
            () ->
                saga()
                    .step(undoable("book"))
                    .group("book", g -> g.step(undoable("flight")))
                    .build())
        .hasMessageContaining("saga 'trip' group 'book': its name is already a step's or a group's")
        .hasMessageContaining(
            "saga 'trip' group 'book': has 1 branch; a parallel group needs at least two");
  }

  @Test
  void refusesABranchWithoutCompensationBeforeThePivotNamingTheGroupAndTheBranch() {
    assertThatThrownBy(
            () ->
                saga()
                    .group(
                        "book",
                        g -> g.step(undoable("flight")).step(Step.named("hotel").invoke(NOOP)))
                    .build())
        .hasMessageStartingWith(
            "saga 'trip' group 'book' step 'hotel': comes before the pivot and has no"
                + " compensation");
  }

  @Test
  void aFanOutKeepsItsListKeyAndBounds() {
    var definition =
        saga()
            .step(
                undoable("invite")
                    .forEach(ctx -> List.of("a", "b"), key -> key)
                    .maxConcurrency(3)
                    .maxElements(50))
            .build();

    FanOut fanOut = definition.step("invite").fanOut().orElseThrow();
    assertThat(fanOut.maxConcurrency()).isEqualTo(3);
    assertThat(fanOut.maxElements()).isEqualTo(50);
    assertThat(fanOut.key().apply("x")).isEqualTo("x");
    assertThat(definition.findStep("invite/a")).contains(definition.step("invite"));
    assertThat(definition.stage("invite").orElseThrow().branches()).isTrue();
  }

  @Test
  void refusesAFanOutPivotBoundsBelowOneAndBoundsWithoutAList() {
    assertThatThrownBy(
            () ->
                saga()
                    .step(
                        Step.named("pay")
                            .invoke(NOOP)
                            .pivot()
                            .forEach(ctx -> List.of(), k -> "k")
                            .maxConcurrency(0))
                    .step(Step.named("tell").invoke(NOOP).maxElements(5))
                    .build())
        .hasMessageContaining("saga 'trip' step 'pay': maxConcurrency must be at least 1, was 0")
        .hasMessageContaining("a pivot cannot be a fan-out")
        .hasMessageContaining("saga 'trip' step 'tell': ")
        .hasMessageContaining("sets maxConcurrency(...) or maxElements(...) but is no fan-out");
  }

  @Test
  void refusesAFanOutAsABranch() {
    assertThatThrownBy(
            () ->
                saga()
                    .group(
                        "book",
                        g ->
                            g.step(undoable("flight"))
                                .step(undoable("rooms").forEach(ctx -> List.of(), k -> "k")))
                    .build())
        .hasMessageContaining(
            "saga 'trip' group 'book' step 'rooms': a branch of a parallel group cannot be a"
                + " fan-out");
  }
}
