package io.sagaflow.orchestrator;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.history.Cursor;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import io.sagaflow.orchestrator.history.StepSnapshot;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A saga instance as an operator reads it: status, input, every step of its definition, and why it
 * failed.
 */
public record SagaView(
    String id,
    String type,
    int version,
    SagaStatus status,
    JsonNode input,
    List<StepView> steps,
    String failure,
    Instant deadline,
    Instant createdAt,
    Instant updatedAt)
    implements SagaSerializable {

  /** One step of a saga instance. */
  public record StepView(
      String name,
      StepStatus status,
      int attempts,
      int compensationAttempts,
      JsonNode output,
      String lastError,
      Instant nextAttemptAt,
      Instant startedAt,
      Instant finishedAt)
      implements SagaSerializable {

    public StepView {
      output = output == null || output.isNull() ? null : output;
    }
  }

  /**
   * The view of a saga's state: every step of its definition in order (steps not reached yet as
   * {@code PENDING}); only the steps it reached when the definition is not registered.
   */
  public static SagaView of(
      String sagaId, SagaSnapshot.Started state, Optional<SagaDefinition<?>> definition) {
    List<String> names =
        definition
            .map(SagaDefinition::stepNames)
            .orElseGet(() -> state.steps().stream().map(StepSnapshot::name).toList());
    Cursor cursor = state.cursor();
    var steps = new ArrayList<StepView>(names.size());
    for (String name : names) {
      StepSnapshot s = state.step(name);
      if (s == null) {
        steps.add(new StepView(name, StepStatus.PENDING, 0, 0, null, null, null, null, null));
        continue;
      }
      Instant next = cursor != null && cursor.step().equals(name) ? cursor.retryAt() : null;
      steps.add(
          new StepView(
              name,
              s.status(),
              s.attempts(),
              s.compensationAttempts(),
              s.output(),
              s.lastError(),
              next,
              s.startedAt(),
              s.finishedAt()));
    }
    return new SagaView(
        sagaId,
        state.type(),
        state.version(),
        state.status(),
        state.input(),
        List.copyOf(steps),
        state.failure(),
        state.deadline(),
        state.createdAt(),
        state.updatedAt());
  }

  public StepView step(String name) {
    return steps.stream()
        .filter(s -> s.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no step " + name + " in " + id));
  }
}
