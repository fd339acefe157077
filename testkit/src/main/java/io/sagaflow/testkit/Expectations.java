package io.sagaflow.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.StepStatus;
import io.sagaflow.orchestrator.dsl.StepKey;
import io.sagaflow.orchestrator.history.EventType;
import io.sagaflow.orchestrator.history.Phase;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import io.sagaflow.orchestrator.history.StepSnapshot;
import java.io.IOException;
import java.util.List;
import java.util.Objects;

/**
 * The "expect" of a test: what the saga did, checked one expectation at a time. A failed one is an
 * {@link AssertionError} saying what was expected and what happened, followed by the saga's story:
 * its status, every call it made and every event it wrote.
 */
public class Expectations {
  final Report report;

  Expectations(Report report) {
    this.report = report;
  }

  /** The saga ended, or stopped for an operator, with this status. */
  public Expectations status(SagaStatus expected) {
    SagaSnapshot.Started saga = report.started("Expected status " + expected);
    if (saga.status() != expected) {
      throw report.fail("Expected status " + expected + ", but the saga is " + saga.status());
    }
    return this;
  }

  /**
   * The saga made exactly these attempts, in this order: a step's name for a call to its
   * participant or a run of its local function, {@code undo <step>} for its compensation, one entry
   * per attempt.
   */
  public Expectations calls(String... expected) {
    List<String> made = report.calls().stream().map(RecordedCall::name).toList();
    if (!made.equals(List.of(expected))) {
      throw report.fail(
          "Expected the calls\n  " + List.of(expected) + "\nbut the saga made\n  " + made);
    }
    return this;
  }

  /** The saga wrote exactly these events, by their public names (e.g. {@code StepSucceeded}). */
  public Expectations events(String... expected) {
    List<String> written = report.events().stream().map(e -> EventType.of(e).publicName()).toList();
    if (!written.equals(List.of(expected))) {
      throw report.fail(
          "Expected the events\n  " + List.of(expected) + "\nbut the saga wrote\n  " + written);
    }
    return this;
  }

  /** The saga's failure (why it compensated or stopped) contains {@code fragment}. */
  public Expectations failureContains(String fragment) {
    String expectation = "Expected a failure containing \"" + fragment + "\"";
    SagaSnapshot.Started saga = report.started(expectation);
    if (saga.failure() == null) {
      throw report.fail(expectation + ", but the saga has no failure");
    }
    if (!saga.failure().contains(fragment)) {
      throw report.fail(expectation + ", but it failed with \"" + saga.failure() + "\"");
    }
    return this;
  }

  /** The step {@code step} names ended with this status. */
  public Expectations stepStatus(StepKey<?> step, StepStatus expected) {
    return stepStatus(Objects.requireNonNull(step, "step").name(), expected);
  }

  /** The step named {@code step} ended with this status. */
  public Expectations stepStatus(String step, StepStatus expected) {
    String expectation = "Expected step '" + step + "' to be " + expected;
    StepSnapshot snapshot = report.started(expectation).step(step);
    if (snapshot == null) {
      throw report.fail(expectation + ", but the saga never reached it");
    }
    if (snapshot.status() != expected) {
      throw report.fail(expectation + ", but it is " + snapshot.status());
    }
    return this;
  }

  /**
   * The last start, cancel or resume the saga refused was refused with a reason containing {@code
   * fragment}.
   */
  public Expectations refused(String fragment) {
    String expectation = "Expected a refusal containing \"" + fragment + "\"";
    if (report.refusal() == null) {
      throw report.fail(expectation + ", but nothing was refused");
    }
    if (!report.refusal().contains(fragment)) {
      throw report.fail(expectation + ", but the last refusal was \"" + report.refusal() + "\"");
    }
    return this;
  }

  /** Attempt {@code attempt} (from 1) of step {@code step}, to check further. */
  public CallExpectations call(StepKey<?> step, int attempt) {
    return call(Objects.requireNonNull(step, "step").name(), attempt);
  }

  /** Attempt {@code attempt} (from 1) of the step named {@code step}, to check further. */
  public CallExpectations call(String step, int attempt) {
    return attempt(Phase.FORWARD, step, attempt);
  }

  /** Attempt {@code attempt} (from 1) of the compensation of step {@code step}. */
  public CallExpectations compensationCall(StepKey<?> step, int attempt) {
    return compensationCall(Objects.requireNonNull(step, "step").name(), attempt);
  }

  /** Attempt {@code attempt} (from 1) of the compensation of the step named {@code step}. */
  public CallExpectations compensationCall(String step, int attempt) {
    return attempt(Phase.COMPENSATION, step, attempt);
  }

  /**
   * The output of step {@code step}, bound to its key's type.
   *
   * @throws AssertionError when the step has no output
   */
  public <O> O output(StepKey<O> step) {
    String expectation = "Expected an output of step '" + step.name() + "'";
    StepSnapshot snapshot = report.started(expectation).step(step.name());
    if (snapshot == null || snapshot.output() == null) {
      throw report.fail(
          expectation
              + ", but it has none"
              + (snapshot == null
                  ? ": the saga never reached it"
                  : " (" + snapshot.status() + ")"));
    }
    if (step.isJson()) {
      @SuppressWarnings("unchecked")
      O json = (O) snapshot.output();
      return json;
    }
    try {
      return report
          .mapper()
          .readerFor(report.mapper().constructType(step.outputType()))
          .readValue(snapshot.output());
    } catch (IOException e) {
      throw report.fail(
          expectation + " binding to " + step.outputType().getTypeName() + ": " + e.getMessage());
    }
  }

  /** The saga's state as its events leave it, for anything the expectations here do not check. */
  public SagaSnapshot.Started snapshot() {
    return report.started("Expected a saga");
  }

  /** Every attempt the saga made, in order. */
  public List<RecordedCall> recordedCalls() {
    return report.calls();
  }

  /** Every event the saga wrote, in order. */
  public List<SagaEvent> recordedEvents() {
    return report.events();
  }

  /** What the saga did, as a failed expectation tells it. */
  public String story() {
    return report.story();
  }

  private CallExpectations attempt(Phase phase, String step, int attempt) {
    String name = (phase == Phase.COMPENSATION ? "undo " : "") + step + " #" + attempt;
    return report.calls().stream()
        .filter(c -> c.phase() == phase && c.step().equals(step) && c.attempt() == attempt)
        .findFirst()
        .map(c -> new CallExpectations(report, c))
        .orElseThrow(
            () ->
                report.fail(
                    "Expected an attempt "
                        + name
                        + ", but the saga made "
                        + report.calls().stream()
                            .map(c -> c.name() + " #" + c.attempt())
                            .toList()));
  }

  static JsonNode json(Report report, String text, String what) {
    try {
      return report.mapper().readTree(text);
    } catch (IOException e) {
      throw new IllegalArgumentException(what + ": not valid JSON: " + e.getMessage(), e);
    }
  }
}
