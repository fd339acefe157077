package io.sagaflow.orchestrator;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.List;

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

  public StepView step(String name) {
    return steps.stream()
        .filter(s -> s.name().equals(name))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no step " + name + " in " + id));
  }
}
