package io.sagaflow.testkit;

import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepAction;
import io.sagaflow.orchestrator.dsl.StepKey;
import io.sagaflow.orchestrator.history.Phase;
import io.sagaflow.testkit.ScriptedParticipants.Target;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The "given" of a test: a saga definition and what its participants answer, step by step. Steps
 * left unscripted answer 200 {@code {}}; local steps run their own functions.
 *
 * @param <I> the saga's input type
 */
public final class Scenario<I> {
  private final SagaTestKit kit;
  private final SagaDefinition<I> definition;
  private final Map<Target, List<Answer>> script = new LinkedHashMap<>();

  Scenario(SagaTestKit kit, SagaDefinition<I> definition) {
    this.kit = kit;
    this.definition = definition;
  }

  /** What the participant of step {@code step} answers its calls. */
  public StepAnswers<I> step(StepKey<?> step) {
    return step(Objects.requireNonNull(step, "step").name());
  }

  /** What the participant of the step named {@code step} answers its calls. */
  public StepAnswers<I> step(String step) {
    return answersFor(Phase.FORWARD, step);
  }

  /** What the participant undoing step {@code step} answers its compensation's calls. */
  public StepAnswers<I> compensation(StepKey<?> step) {
    return compensation(Objects.requireNonNull(step, "step").name());
  }

  /** What the participant undoing the step named {@code step} answers its compensation's calls. */
  public StepAnswers<I> compensation(String step) {
    return answersFor(Phase.COMPENSATION, step);
  }

  /** What happens to the saga: it is started, and perhaps cancelled or resumed. */
  public When<I> when() {
    return new When<>(kit, definition, Map.copyOf(script));
  }

  private StepAnswers<I> answersFor(Phase phase, String name) {
    Step step = stepNamed(name);
    String role =
        phase == Phase.FORWARD ? "step '" + name + "'" : "the compensation of '" + name + "'";
    StepAction<?> action;
    if (phase == Phase.FORWARD) {
      action = step.action();
    } else {
      action =
          step.compensation()
              .orElseThrow(
                  () ->
                      new IllegalArgumentException(
                          "step '" + name + "' has no compensation: there is nothing to answer"));
    }
    if (!(action instanceof HttpCall<?>)) {
      throw new IllegalArgumentException(
          role + " is a local step: it runs its own function, no participant answers it");
    }
    Target target = new Target(phase, name);
    if (script.containsKey(target)) {
      throw new IllegalArgumentException(
          "the answers of " + role + " are scripted twice: give them all in one answers(...)");
    }
    return new StepAnswers<>(this, role, answers -> script.put(target, answers));
  }

  private Step stepNamed(String name) {
    return definition.steps().stream()
        .filter(s -> s.name().equals(name))
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalArgumentException(
                    "saga '"
                        + definition.name()
                        + "' has no step '"
                        + name
                        + "'; its steps are "
                        + definition.stepNames()));
  }
}
