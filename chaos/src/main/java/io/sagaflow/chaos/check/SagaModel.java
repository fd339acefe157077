package io.sagaflow.chaos.check;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.chaos.ChaosSaga;
import io.sagaflow.chaos.ChaosSaga.StepSpec;
import io.sagaflow.orchestrator.dsl.StepKind;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The checker's own model of a chaos saga's state machine (check C6), written from the design's
 * saga semantics and not from the engine's fold: which event may follow which, steps forward in
 * definition order, compensations newest first, and the compensation lists the failure rules imply.
 * It also keeps what the other checks ask of a saga: its status, and which steps the journal says
 * succeeded, were uncertain or were rejected.
 */
final class SagaModel {

  enum Status {
    NOT_STARTED,
    RUNNING,
    COMPENSATING,
    FAILED,
    COMPLETED,
    COMPENSATED;

    boolean terminal() {
      return this == COMPLETED || this == COMPENSATED;
    }
  }

  /** The event that left a saga FAILED. */
  record Failure(String event, String step, boolean uncertain, String reason) {}

  private static final int PIVOT = pivotIndex();

  /** The events a saga's journal may hold, by their class's simple name. */
  private static final Set<String> EVENTS =
      Set.of(
          "SagaStarted",
          "StepSucceeded",
          "SagaCompleted",
          "StepAttemptFailed",
          "StepFailed",
          "StepFailedAfterPivot",
          "CompensationStarted",
          "CompensationAttemptFailed",
          "StepCompensated",
          "CompensationFailed",
          "CompensationSkipped",
          "SagaFailed",
          "SagaResumed");

  private Status status = Status.NOT_STARTED;
  private int current = -1;
  private List<String> queue = List.of();
  private Status resumesTo;
  private Failure failure;
  private String illegal;
  // The step a cancel or the deadline left in flight, whose compensation may be left out if its
  // call turns out rejected; and whether an attempt of the compensation due has been made.
  private String awaited;
  private boolean compensationTried;
  private final Set<String> succeeded = new LinkedHashSet<>();
  private final Set<String> uncertain = new LinkedHashSet<>();
  private final Set<String> rejected = new LinkedHashSet<>();
  private final Set<String> compensationsDue = new LinkedHashSet<>();

  /** Replays {@code rows}, stopping at the first illegal one. */
  static SagaModel replay(List<JournalRow> rows) {
    var model = new SagaModel();
    for (JournalRow row : rows) {
      model.apply(row);
      if (model.illegal != null) {
        break;
      }
    }
    return model;
  }

  Status status() {
    return status;
  }

  /** Why the replay stopped, or null when every event was legal. */
  String illegal() {
    return illegal;
  }

  Failure failure() {
    return failure;
  }

  Set<String> succeeded() {
    return succeeded;
  }

  /** Steps whose outcome the journal left uncertain (they may have been applied). */
  Set<String> uncertain() {
    return uncertain;
  }

  Set<String> rejected() {
    return rejected;
  }

  /** Every step some compensation list of the journal asked to undo and none left out after. */
  Set<String> compensationsDue() {
    return compensationsDue;
  }

  void apply(JournalRow row) {
    if (illegal != null) {
      return;
    }
    JsonNode e = row.event();
    String problem = e == null ? "its payload is not JSON" : transition(row.eventType(), e);
    if (problem != null) {
      illegal = "event " + row.seqNr() + " (" + row.eventType() + "): " + problem;
    }
  }

  /** Applies one event; what is illegal about it, or null. */
  private String transition(String type, JsonNode e) {
    if (!EVENTS.contains(type)) {
      return "not an event of the saga state machine";
    }
    return switch (status) {
      case NOT_STARTED -> notStarted(type, e);
      case RUNNING -> running(type, e);
      case COMPENSATING -> compensating(type, e);
      case FAILED -> failed(type, e);
      case COMPLETED, COMPENSATED -> "nothing may follow a " + status + " saga";
    };
  }

  private String notStarted(String type, JsonNode e) {
    if (!type.equals("SagaStarted")) {
      return "a saga must begin with SagaStarted";
    }
    if (!ChaosSaga.TYPE.equals(text(e, "type"))) {
      return "saga type '" + text(e, "type") + "' is not " + ChaosSaga.TYPE;
    }
    if (!first().equals(text(e, "firstStep"))) {
      return "the first step is '" + text(e, "firstStep") + "', not '" + first() + "'";
    }
    status = Status.RUNNING;
    current = 0;
    return null;
  }

  private String running(String type, JsonNode e) {
    String step = ChaosSaga.STEPS.get(current).name();
    if (!type.equals("CompensationStarted")
        && !type.equals("SagaFailed")
        && !step.equals(text(e, "step"))) {
      return "names step '" + text(e, "step") + "' while step '" + step + "' is due";
    }
    switch (type) {
      case "StepAttemptFailed":
        return null;
      case "StepSucceeded":
        if (current + 1 >= ChaosSaga.STEPS.size()) {
          return "the last step's success must be SagaCompleted";
        }
        String next = ChaosSaga.STEPS.get(current + 1).name();
        if (!next.equals(text(e, "nextStep"))) {
          return "next step '" + text(e, "nextStep") + "' is not '" + next + "'";
        }
        succeeded.add(step);
        current++;
        return null;
      case "SagaCompleted":
        if (current != ChaosSaga.STEPS.size() - 1) {
          return "SagaCompleted at step '" + step + "', which is not the last";
        }
        succeeded.add(step);
        status = Status.COMPLETED;
        return null;
      case "StepFailed":
        return stepFailed(step, e);
      case "StepFailedAfterPivot":
        return failedAfterPivot(step, e);
      case "CompensationStarted":
        if (current >= PIVOT) {
          return "compensation started once the pivot was reached";
        }
        if (compensatable(current)) {
          uncertain.add(step);
          awaited = step;
        }
        return compensate(e, expectedCompensations(compensatable(current)));
      case "SagaFailed":
        return fail("SagaFailed", null, false, e, Status.RUNNING);
      default:
        return "not allowed while RUNNING";
    }
  }

  private String stepFailed(String step, JsonNode e) {
    boolean isUncertain = e.path("uncertain").asBoolean();
    if (current > PIVOT) {
      return "StepFailed after the pivot (must be StepFailedAfterPivot)";
    }
    if (current == PIVOT && isUncertain) {
      return "an uncertain pivot may have happened: it must not be compensated around";
    }
    (isUncertain ? uncertain : rejected).add(step);
    return compensate(e, expectedCompensations(isUncertain && compensatable(current)));
  }

  private String failedAfterPivot(String step, JsonNode e) {
    boolean isUncertain = e.path("uncertain").asBoolean();
    if (current < PIVOT) {
      return "StepFailedAfterPivot before the pivot";
    }
    if (current == PIVOT && !isUncertain) {
      return "a rejected pivot applied nothing: it must be a StepFailed";
    }
    (isUncertain ? uncertain : rejected).add(step);
    return fail("StepFailedAfterPivot", step, isUncertain, e, Status.RUNNING);
  }

  /**
   * The steps to undo, newest first: each compensatable one that succeeded, and maybe the current.
   */
  private List<String> expectedCompensations(boolean includeCurrent) {
    var names = new ArrayList<String>();
    for (int i = current; i >= 0; i--) {
      String name = ChaosSaga.STEPS.get(i).name();
      boolean applied = succeeded.contains(name) || (i == current && includeCurrent);
      if (applied && compensatable(i)) {
        names.add(name);
      }
    }
    return names;
  }

  private String compensate(JsonNode e, List<String> expected) {
    List<String> listed = new ArrayList<>();
    e.path("compensations").forEach(n -> listed.add(n.asText()));
    if (!listed.equals(expected)) {
      return "compensations " + listed + ", expected " + expected + " (newest first)";
    }
    compensationsDue.addAll(listed);
    queue = listed;
    status = listed.isEmpty() ? Status.COMPENSATED : Status.COMPENSATING;
    return null;
  }

  private String compensating(String type, JsonNode e) {
    String due = queue.get(0);
    if (!type.equals("SagaFailed") && !due.equals(text(e, "step"))) {
      return "names step '" + text(e, "step") + "' while the compensation of '" + due + "' is due";
    }
    switch (type) {
      case "CompensationAttemptFailed":
        compensationTried = true;
        return null;
      case "StepCompensated":
        return nextCompensation(e);
      case "CompensationSkipped":
        if (!due.equals(awaited) || compensationTried) {
          return "only the compensation of the step a cancel or the deadline left in flight may be"
              + " left out, before any attempt of it";
        }
        // Its awaited call was rejected: it applied nothing, and is no longer uncertain.
        uncertain.remove(due);
        rejected.add(due);
        compensationsDue.remove(due);
        return nextCompensation(e);
      case "CompensationFailed":
        compensationTried = true;
        return fail("CompensationFailed", due, false, e, Status.COMPENSATING);
      case "SagaFailed":
        compensationTried = true; // a resume makes a new attempt of it
        return fail("SagaFailed", null, false, e, Status.COMPENSATING);
      default:
        return "not allowed while COMPENSATING";
    }
  }

  private String nextCompensation(JsonNode e) {
    boolean last = queue.size() == 1;
    if (e.path("sagaCompensated").asBoolean() != last) {
      return "sagaCompensated=" + !last + " with " + (queue.size() - 1) + " compensations left";
    }
    queue = queue.subList(1, queue.size());
    compensationTried = false;
    status = last ? Status.COMPENSATED : Status.COMPENSATING;
    return null;
  }

  private String failed(String type, JsonNode e) {
    if (!type.equals("SagaResumed")) {
      return "only SagaResumed may follow a FAILED saga";
    }
    status = resumesTo;
    return null;
  }

  private String fail(String event, String step, boolean isUncertain, JsonNode e, Status resume) {
    failure = new Failure(event, step, isUncertain, text(e, "reason"));
    resumesTo = resume;
    status = Status.FAILED;
    return null;
  }

  private static boolean compensatable(int index) {
    return ChaosSaga.STEPS.get(index).compensatable();
  }

  private static String first() {
    return ChaosSaga.STEPS.get(0).name();
  }

  private static String text(JsonNode e, String field) {
    JsonNode value = e.get(field);
    return value == null || value.isNull() ? null : value.asText();
  }

  private static int pivotIndex() {
    List<StepSpec> steps = ChaosSaga.STEPS;
    for (int i = 0; i < steps.size(); i++) {
      if (steps.get(i).kind() == StepKind.PIVOT) {
        return i;
      }
    }
    throw new IllegalStateException("the chaos saga has no pivot");
  }
}
