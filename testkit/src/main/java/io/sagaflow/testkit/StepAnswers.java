package io.sagaflow.testkit;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * The answers one step's participant (or its compensation's) gives, in order.
 *
 * @param <I> the saga's input type
 */
public final class StepAnswers<I> {
  private final Scenario<I> scenario;
  private final String role;
  private final Consumer<List<Answer>> script;

  StepAnswers(Scenario<I> scenario, String role, Consumer<List<Answer>> script) {
    this.scenario = scenario;
    this.role = role;
    this.script = script;
  }

  /**
   * The answers to the first calls, in order; the last one answers every call after them. {@link
   * Answer#times(int)} answers several calls in a row: {@code answers(Answer.status(503).times(2),
   * Answer.ok())}.
   */
  public Scenario<I> answers(Answer first, Answer... then) {
    var answers = new ArrayList<Answer>();
    add(answers, first);
    for (Answer answer : then) {
      add(answers, answer);
    }
    script.accept(List.copyOf(answers));
    return scenario;
  }

  private void add(List<Answer> answers, Answer answer) {
    Objects.requireNonNull(answer, () -> "a null answer for " + role);
    for (int i = 0; i < answer.count(); i++) {
      answers.add(answer);
    }
  }
}
