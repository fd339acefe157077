package io.sagaflow.testkit;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.testkit.ScriptedParticipants.Target;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * The "when" of a test: the saga is started.
 *
 * @param <I> the saga's input type
 */
public final class When<I> {
  private final SagaTestKit kit;
  private final SagaDefinition<I> definition;
  private final Map<Target, List<Answer>> script;

  When(SagaTestKit kit, SagaDefinition<I> definition, Map<Target, List<Answer>> script) {
    this.kit = kit;
    this.definition = definition;
    this.script = script;
  }

  /**
   * The saga is started with id {@code sagaId} and {@code input}, sent as the JSON Jackson writes
   * of it, as a client would send it. It runs as far as it can without time passing.
   */
  public SagaRun<I> started(String sagaId, I input) {
    Objects.requireNonNull(input, "input");
    try {
      return startedWithJson(sagaId, kit.mapper().writeValueAsString(input));
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "the input " + input.getClass().getSimpleName() + " cannot be written as JSON", e);
    }
  }

  /**
   * The saga is started with id {@code sagaId} and this JSON input, read as the API reads a start's
   * body: also one the definition refuses, which {@link Expectations#refused} then checks.
   */
  public SagaRun<I> startedWithJson(String sagaId, String input) {
    Objects.requireNonNull(sagaId, "sagaId");
    Objects.requireNonNull(input, "input");
    JsonNode json;
    try {
      json = kit.mapper().readTree(input);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "the input is not valid JSON: " + e.getOriginalMessage(), e);
    }
    return SagaRun.start(kit, definition, script, sagaId, json);
  }
}
