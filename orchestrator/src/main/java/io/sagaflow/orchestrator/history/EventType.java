package io.sagaflow.orchestrator.history;

import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * The public name of each kind of saga event: what the API, the event stream and webhooks call it.
 * Stable across releases and independent of the Java class that carries the event.
 */
public enum EventType {
  SAGA_STARTED("SagaStarted", SagaEvent.SagaStarted.class),
  STEP_SUCCEEDED("StepSucceeded", SagaEvent.StepSucceeded.class),
  SAGA_COMPLETED("SagaCompleted", SagaEvent.SagaCompleted.class),
  STEP_ATTEMPT_FAILED("StepAttemptFailed", SagaEvent.StepAttemptFailed.class),
  STEP_FAILED("StepFailed", SagaEvent.StepFailed.class),
  COMPENSATION_STARTED("CompensationStarted", SagaEvent.CompensationStarted.class),
  COMPENSATION_ATTEMPT_FAILED(
      "CompensationAttemptFailed", SagaEvent.CompensationAttemptFailed.class),
  STEP_COMPENSATED("StepCompensated", SagaEvent.StepCompensated.class),
  COMPENSATION_FAILED("CompensationFailed", SagaEvent.CompensationFailed.class),
  SAGA_FAILED("SagaFailed", SagaEvent.SagaFailed.class),
  SAGA_RESUMED("SagaResumed", SagaEvent.SagaResumed.class),
  STEP_FAILED_AFTER_PIVOT("StepFailedAfterPivot", SagaEvent.StepFailedAfterPivot.class),
  COMPENSATION_SKIPPED("CompensationSkipped", SagaEvent.CompensationSkipped.class),
  BRANCHES_STARTED("BranchesStarted", SagaEvent.BranchesStarted.class),
  BRANCH_SUCCEEDED("BranchSucceeded", SagaEvent.BranchSucceeded.class),
  BRANCH_FAILED("BranchFailed", SagaEvent.BranchFailed.class),
  BRANCH_SETTLED("BranchSettled", SagaEvent.BranchSettled.class),
  SIGNAL_RECEIVED("SignalReceived", SagaEvent.SignalReceived.class);

  private static final Map<Class<?>, EventType> BY_CLASS =
      Arrays.stream(values()).collect(Collectors.toUnmodifiableMap(t -> t.type, t -> t));
  private static final Map<String, EventType> BY_NAME =
      Arrays.stream(values())
          .collect(Collectors.toUnmodifiableMap(EventType::publicName, Function.identity()));

  private final String publicName;
  private final Class<? extends SagaEvent> type;

  EventType(String publicName, Class<? extends SagaEvent> type) {
    this.publicName = publicName;
    this.type = type;
  }

  public String publicName() {
    return publicName;
  }

  public static EventType of(SagaEvent event) {
    return BY_CLASS.get(event.getClass());
  }

  /** The type with this public name, if there is one. */
  public static Optional<EventType> named(String publicName) {
    return Optional.ofNullable(BY_NAME.get(publicName));
  }
}
