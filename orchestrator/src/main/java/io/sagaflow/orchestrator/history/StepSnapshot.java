package io.sagaflow.orchestrator.history;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.SagaSerializable;
import io.sagaflow.orchestrator.StepStatus;
import java.time.Instant;

/** One step of a saga as far as the saga got with it. */
public record StepSnapshot(
    String name,
    StepStatus status,
    int attempts,
    int compensationAttempts,
    JsonNode output,
    String lastError,
    Instant startedAt,
    Instant finishedAt)
    implements SagaSerializable {

  public StepSnapshot {
    // JSON null reads back as NullNode: one spelling of "no output" keeps a snapshot equal across
    // a round trip through JSON.
    output = output == null || output.isNull() ? null : output;
  }

  static StepSnapshot running(String name, Instant at) {
    return new StepSnapshot(name, StepStatus.RUNNING, 1, 0, null, null, at, null);
  }

  static StepSnapshot pending(String name) {
    return new StepSnapshot(name, StepStatus.PENDING, 0, 0, null, null, null, null);
  }

  StepSnapshot withStatus(StepStatus newStatus) {
    return new StepSnapshot(
        name, newStatus, attempts, compensationAttempts, output, lastError, startedAt, finishedAt);
  }

  /** Called again after an operator's resume: no longer finished. */
  StepSnapshot runningAgain() {
    return new StepSnapshot(
        name,
        StepStatus.RUNNING,
        attempts,
        compensationAttempts,
        output,
        lastError,
        startedAt,
        null);
  }

  StepSnapshot retrying(int attempt, String error) {
    return new StepSnapshot(
        name,
        StepStatus.RETRYING,
        attempt,
        compensationAttempts,
        output,
        error,
        startedAt,
        finishedAt);
  }

  StepSnapshot finished(StepStatus outcome, int attempt, JsonNode out, String error, Instant at) {
    return new StepSnapshot(
        name, outcome, attempt, compensationAttempts, out, error, startedAt, at);
  }

  StepSnapshot compensating(int attempt, String error) {
    return new StepSnapshot(
        name, StepStatus.COMPENSATING, attempts, attempt, output, error, startedAt, finishedAt);
  }

  StepSnapshot compensationEnded(StepStatus outcome, int attempt, String error) {
    return new StepSnapshot(name, outcome, attempts, attempt, output, error, startedAt, finishedAt);
  }

  /** Its forward call turned out rejected once the saga was compensating: nothing to undo. */
  StepSnapshot rejectedWhileCompensating(int attempt, String error, Instant at) {
    return new StepSnapshot(name, StepStatus.REJECTED, attempt, 0, null, error, startedAt, at);
  }
}
