package io.sagaflow.orchestrator;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.dsl.AwaitSignal;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Stage;
import io.sagaflow.orchestrator.history.Cursor;
import io.sagaflow.orchestrator.history.Phase;
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
    Instant updatedAt,
    @JsonInclude(JsonInclude.Include.NON_NULL) WaitingFor waitingFor)
    implements SagaSerializable {

  /** A view of a saga that waits for no signal. */
  public SagaView(
      String id,
      String type,
      int version,
      SagaStatus status,
      JsonNode input,
      List<StepView> steps,
      String failure,
      Instant deadline,
      Instant createdAt,
      Instant updatedAt) {
    this(id, type, version, status, input, steps, failure, deadline, createdAt, updatedAt, null);
  }

  /**
   * The signal the saga waits for at its step {@code step}: since {@code since} (when the step
   * became due), until {@code timeoutAt}, when the step is rejected if no signal has come.
   */
  public record WaitingFor(String signal, String step, Instant since, Instant timeoutAt)
      implements SagaSerializable {}

  /**
   * One step of a saga instance. A parallel group, and a fan-out, list their {@code branches} (a
   * fan-out's as {@code {step}/{key}}, in its list's order, once it has started); a plain step has
   * none (the field is left out).
   */
  public record StepView(
      String name,
      StepStatus status,
      int attempts,
      int compensationAttempts,
      JsonNode output,
      String lastError,
      Instant nextAttemptAt,
      Instant startedAt,
      Instant finishedAt,
      @JsonInclude(JsonInclude.Include.NON_NULL) List<StepView> branches)
      implements SagaSerializable {

    public StepView {
      output = output == null || output.isNull() ? null : output;
      branches = branches == null ? null : List.copyOf(branches);
    }

    /** A step without branches. */
    public StepView(
        String name,
        StepStatus status,
        int attempts,
        int compensationAttempts,
        JsonNode output,
        String lastError,
        Instant nextAttemptAt,
        Instant startedAt,
        Instant finishedAt) {
      this(
          name,
          status,
          attempts,
          compensationAttempts,
          output,
          lastError,
          nextAttemptAt,
          startedAt,
          finishedAt,
          null);
    }

    /** The branch of this name. */
    public StepView branch(String branchName) {
      return (branches == null ? List.<StepView>of() : branches)
          .stream()
              .filter(b -> b.name().equals(branchName))
              .findFirst()
              .orElseThrow(
                  () -> new IllegalArgumentException("no branch " + branchName + " in " + name));
    }
  }

  /**
   * The view of a saga's state: every step of its definition in order (steps not reached yet as
   * {@code PENDING}); only the steps it reached when the definition is not registered.
   */
  public static SagaView of(
      String sagaId, SagaSnapshot.Started state, Optional<SagaDefinition<?>> definition) {
    var steps = new ArrayList<StepView>();
    if (definition.isEmpty()) {
      for (StepSnapshot s : state.steps()) {
        steps.add(stepView(state, s.name(), null));
      }
    } else {
      for (Stage stage : definition.get().stages()) {
        List<StepView> branches = null;
        if (stage.group()) {
          branches = stage.steps().stream().map(b -> stepView(state, b.name(), null)).toList();
        } else if (stage.branches()) {
          String prefix = stage.name() + "/";
          branches =
              state.steps().stream()
                  .filter(s -> s.name().startsWith(prefix))
                  .map(s -> stepView(state, s.name(), null))
                  .toList();
        }
        steps.add(stepView(state, stage.name(), branches));
      }
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
        state.updatedAt(),
        definition.flatMap(d -> waitingFor(state, d)).orElse(null));
  }

  /** The signal the saga waits for now, if it waits for one (see {@link WaitingFor}). */
  static Optional<WaitingFor> waitingFor(SagaSnapshot.Started state, SagaDefinition<?> definition) {
    Cursor cursor = state.cursor();
    if (state.status() != SagaStatus.RUNNING
        || cursor == null
        || cursor.phase() != Phase.FORWARD
        || state instanceof SagaSnapshot.Failed) {
      return Optional.empty();
    }
    return definition
        .findStep(cursor.step())
        .filter(step -> step.action() instanceof AwaitSignal<?>)
        .filter(
            step ->
                !state.progress().signals().containsKey(((AwaitSignal<?>) step.action()).name()))
        .map(
            step -> {
              Instant since = SagaEntity.signalWaitStart(state, cursor);
              return new WaitingFor(
                  ((AwaitSignal<?>) step.action()).name(),
                  step.name(),
                  since,
                  since.plus(step.timeout()));
            });
  }

  private static StepView stepView(
      SagaSnapshot.Started state, String name, List<StepView> branches) {
    StepSnapshot s = state.step(name);
    if (s == null) {
      return new StepView(name, StepStatus.PENDING, 0, 0, null, null, null, null, null, branches);
    }
    Instant next = null;
    for (Cursor cursor : state.cursors()) {
      if (cursor.step().equals(name)) {
        next = cursor.retryAt();
      }
    }
    return new StepView(
        name,
        s.status(),
        s.attempts(),
        s.compensationAttempts(),
        s.output(),
        s.lastError(),
        next,
        s.startedAt(),
        s.finishedAt(),
        branches);
  }

  /** The step of this name, or the branch of a group or fan-out. */
  public StepView step(String name) {
    for (StepView s : steps) {
      if (s.name().equals(name)) {
        return s;
      }
      for (StepView b : s.branches() == null ? List.<StepView>of() : s.branches()) {
        if (b.name().equals(name)) {
          return b;
        }
      }
    }
    throw new IllegalArgumentException("no step " + name + " in " + id);
  }
}
