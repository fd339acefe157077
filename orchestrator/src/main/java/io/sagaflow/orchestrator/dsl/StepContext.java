package io.sagaflow.orchestrator.dsl;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What a step sees when it builds its request or runs: the saga's input and earlier steps' outputs.
 *
 * @param <I> the saga's input type ({@link JsonNode} for a definition without one)
 */
public interface StepContext<I> {

  String sagaId();

  String sagaType();

  /** The step being invoked (or compensated). */
  String step();

  /** The attempt number, starting at 1. */
  int attempt();

  /** The saga input, bound to the definition's input type (checked once, at start). */
  I input();

  /** The saga input as JSON, as the start sent it. */
  JsonNode inputJson();

  /**
   * The output of an earlier step, bound to its key's type.
   *
   * @throws IllegalStateException when that step has produced no output (it has not succeeded, or
   *     it is uncertain: a compensation runs for an uncertain step too, so address what it undoes
   *     by the input or by earlier steps' outputs, not by its own)
   */
  <O> O output(StepKey<O> step);

  /**
   * The output of an earlier step as JSON.
   *
   * @throws IllegalStateException when that step has produced no output
   */
  JsonNode output(String step);

  /**
   * The element this attempt runs for, in a fan-out step ({@code StepBuilder.forEach}): the very
   * object the list gave, typed as the caller expects ({@code Guest guest = ctx.element();}).
   *
   * @throws IllegalStateException outside a fan-out
   */
  default <E> E element() {
    throw new IllegalStateException("step '" + step() + "' is not a fan-out: it has no element");
  }

  /** The key of the element this attempt runs for, in a fan-out step; null outside one. */
  default String elementKey() {
    return null;
  }
}
