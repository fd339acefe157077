package io.sagaflow.orchestrator.dsl;

import com.fasterxml.jackson.databind.JsonNode;

/** What a step sees when it builds its request: the saga input and earlier steps' outputs. */
public interface StepContext {

  String sagaId();

  String sagaType();

  /** The step being invoked (or compensated). */
  String step();

  /** The attempt number, starting at 1. */
  int attempt();

  /** The saga input as JSON. */
  JsonNode input();

  /** The saga input bound to a type. */
  <T> T input(Class<T> type);

  /**
   * The output of an earlier step.
   *
   * @throws IllegalStateException when that step has not produced an output
   */
  JsonNode output(String step);
}
