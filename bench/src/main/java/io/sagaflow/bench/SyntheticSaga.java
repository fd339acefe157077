package io.sagaflow.bench;

import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepAction;
import io.sagaflow.orchestrator.dsl.StepContext;
import io.sagaflow.orchestrator.dsl.StepRejectedException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * The benchmark's saga: {@code steps} compensatable steps named {@code step-1..step-N}, step {@code
 * failAt} rejected. Local steps do nothing but count their calls; HTTP steps call the participant
 * {@value #PARTICIPANT} ({@link BenchParticipant}) at {@code /step-i}, {@code /step-i/reject} (the
 * failing step, answered 422) and {@code /step-i/compensate}.
 */
public final class SyntheticSaga {

  /** The saga type. */
  public static final String TYPE = "bench";

  /** The HTTP participant's name. */
  public static final String PARTICIPANT = "bench";

  private final int steps;
  private final int failAt;
  private final BenchOptions.Participants participants;
  private final LongAdder[] actions;
  private final LongAdder[] compensations;
  private final SagaDefinition<?> definition;

  public SyntheticSaga(int steps, int failAt, BenchOptions.Participants participants) {
    if (steps < 1 || failAt < 0 || failAt > steps) {
      throw new IllegalArgumentException("steps " + steps + ", failAt " + failAt);
    }
    this.steps = steps;
    this.failAt = failAt;
    this.participants = participants;
    this.actions = counters(steps);
    this.compensations = counters(steps);
    var builder = SagaDefinition.builder(TYPE).version(1);
    for (int i = 1; i <= steps; i++) {
      builder.step(Step.named(stepName(i)).invoke(action(i)).compensateWith(compensation(i)));
    }
    this.definition = builder.build();
  }

  public static String stepName(int i) {
    return "step-" + i;
  }

  public SagaDefinition<?> definition() {
    return definition;
  }

  public int steps() {
    return steps;
  }

  public int failAt() {
    return failAt;
  }

  /** How every saga must end. */
  public SagaStatus expectedStatus() {
    return failAt == 0 ? SagaStatus.COMPLETED : SagaStatus.COMPENSATED;
  }

  /**
   * The journal every saga must have, event by event, each as {@code EventType(step)}: the
   * signature {@link BenchDatabase#journalSignatures} reads back.
   */
  public List<String> expectedEvents() {
    var events = new ArrayList<String>();
    events.add("SagaStarted");
    int last = failAt == 0 ? steps : failAt;
    for (int i = 1; i < last; i++) {
      events.add("StepSucceeded(" + stepName(i) + ")");
    }
    if (failAt == 0) {
      events.add("SagaCompleted(" + stepName(steps) + ")");
    } else {
      events.add("StepFailed(" + stepName(failAt) + ")");
      for (int i = failAt - 1; i >= 1; i--) {
        events.add("StepCompensated(" + stepName(i) + ")");
      }
    }
    return events;
  }

  /**
   * Participant calls every saga must cause, by call: {@code step-i} for an action, {@code
   * step-i/compensate} for a compensation; every step of the saga is listed, with 0 where no call
   * is due.
   */
  public Map<String, Long> expectedCallsPerSaga() {
    var calls = new LinkedHashMap<String, Long>();
    int last = failAt == 0 ? steps : failAt;
    for (int i = 1; i <= steps; i++) {
      calls.put(stepName(i), i <= last ? 1L : 0L);
    }
    for (int i = 1; i <= steps; i++) {
      calls.put(stepName(i) + "/compensate", failAt > 0 && i < failAt ? 1L : 0L);
    }
    return calls;
  }

  /**
   * Calls of the local steps so far, keyed like {@link #expectedCallsPerSaga()}; empty for HTTP
   * steps (the participant counts those).
   */
  public Map<String, Long> localCalls() {
    var calls = new LinkedHashMap<String, Long>();
    if (participants == BenchOptions.Participants.HTTP) {
      return calls;
    }
    for (int i = 1; i <= steps; i++) {
      calls.put(stepName(i), actions[i - 1].sum());
    }
    for (int i = 1; i <= steps; i++) {
      calls.put(stepName(i) + "/compensate", compensations[i - 1].sum());
    }
    return calls;
  }

  private StepAction<Object> action(int i) {
    boolean rejects = i == failAt;
    if (participants == BenchOptions.Participants.HTTP) {
      return HttpCall.post(PARTICIPANT, "/" + stepName(i) + (rejects ? "/reject" : ""));
    }
    LongAdder calls = actions[i - 1];
    String error = "bench: step " + i + " rejects every saga";
    return local(
        ctx -> {
          calls.increment();
          return rejects
              ? CompletableFuture.failedFuture(new StepRejectedException(error))
              : CompletableFuture.completedFuture(Map.of());
        });
  }

  private StepAction<Object> compensation(int i) {
    if (participants == BenchOptions.Participants.HTTP) {
      return HttpCall.post(PARTICIPANT, "/" + stepName(i) + "/compensate");
    }
    LongAdder calls = compensations[i - 1];
    return local(
        ctx -> {
          calls.increment();
          return CompletableFuture.completedFuture(Map.of());
        });
  }

  private LocalCall<Object> local(Function<StepContext<Object>, ?> function) {
    return participants == BenchOptions.Participants.LOCAL_NONBLOCKING
        ? LocalCall.nonBlocking(function)
        : LocalCall.of(function);
  }

  private static LongAdder[] counters(int n) {
    var counters = new LongAdder[n];
    for (int i = 0; i < n; i++) {
      counters[i] = new LongAdder();
    }
    return counters;
  }
}
