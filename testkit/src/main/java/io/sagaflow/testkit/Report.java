package io.sagaflow.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.history.EventType;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaEvent.CompensationAttemptFailed;
import io.sagaflow.orchestrator.history.SagaEvent.CompensationFailed;
import io.sagaflow.orchestrator.history.SagaEvent.CompensationSkipped;
import io.sagaflow.orchestrator.history.SagaEvent.CompensationStarted;
import io.sagaflow.orchestrator.history.SagaEvent.SagaCompleted;
import io.sagaflow.orchestrator.history.SagaEvent.SagaFailed;
import io.sagaflow.orchestrator.history.SagaEvent.SagaResumed;
import io.sagaflow.orchestrator.history.SagaEvent.SagaStarted;
import io.sagaflow.orchestrator.history.SagaEvent.StepAttemptFailed;
import io.sagaflow.orchestrator.history.SagaEvent.StepCompensated;
import io.sagaflow.orchestrator.history.SagaEvent.StepFailed;
import io.sagaflow.orchestrator.history.SagaEvent.StepFailedAfterPivot;
import io.sagaflow.orchestrator.history.SagaEvent.StepSucceeded;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * What a saga did under the kit, as far as it got: its state, its events, every attempt it made and
 * what the test did to it. {@link #story()} tells it the way a failed expectation shows it.
 */
record Report(
    String sagaId,
    SagaDefinition<?> definition,
    Instant startedAt,
    Instant now,
    SagaSnapshot state,
    List<SagaEvent> events,
    List<RecordedCall> calls,
    List<String> happenings,
    String refusal,
    ObjectMapper mapper) {

  private static final int EXCERPT = 100;

  Report {
    events = List.copyOf(events);
    calls = List.copyOf(calls);
    happenings = List.copyOf(happenings);
  }

  /** The started saga; a failed expectation when it was never started. */
  SagaSnapshot.Started started(String expectation) {
    if (state instanceof SagaSnapshot.Started started) {
      return started;
    }
    throw fail(
        expectation + ", but the saga was never started" + (refusal == null ? "" : ": " + refusal));
  }

  /** A failed expectation: {@code what} went wrong, then the story. */
  AssertionError fail(String what) {
    return new AssertionError(what + "\n\n" + story());
  }

  /** What the saga did, for a person to read. */
  String story() {
    var out = new StringBuilder();
    out.append("Saga '")
        .append(sagaId)
        .append("' (")
        .append(definition.name())
        .append(" v")
        .append(definition.version())
        .append(") ");
    if (state instanceof SagaSnapshot.Started started) {
      out.append("is ").append(started.status());
      if (started.failure() != null) {
        out.append(": ").append(started.failure());
      }
    } else {
      out.append("was never started");
    }
    out.append("\n  virtual time now ").append(offset(now)).append('\n');
    out.append("What the test did:\n");
    happenings.forEach(line -> out.append("  ").append(line).append('\n'));
    out.append("Calls (").append(calls.size()).append("):\n");
    for (int i = 0; i < calls.size(); i++) {
      RecordedCall call = calls.get(i);
      out.append(String.format("  %2d. %-9s %s", i + 1, offset(call.at()), call.describe()));
      if (call.body() != null) {
        out.append("  ").append(excerpt(call.body()));
      }
      out.append('\n');
    }
    out.append("Events (").append(events.size()).append("):\n");
    for (SagaEvent event : events) {
      out.append(
          String.format(
              "  %-9s %-26s %s%n",
              offset(event.at()), EventType.of(event).publicName(), describe(event)));
    }
    return out.toString();
  }

  /** The time since the saga started, e.g. {@code +0s}, {@code +250ms}, {@code +4m30s}. */
  String offset(Instant at) {
    Duration since = Duration.between(startedAt, at);
    return (since.isNegative() ? "-" : "+") + human(since.abs());
  }

  static String human(Duration duration) {
    long millis = duration.toMillis();
    if (millis == 0) {
      return "0s";
    }
    if (millis < 1000) {
      return millis + "ms";
    }
    if (millis < 60_000) {
      return millis % 1000 == 0 ? millis / 1000 + "s" : String.format("%.1fs", millis / 1000.0);
    }
    long days = duration.toDays();
    long hours = duration.toHoursPart();
    long minutes = duration.toMinutesPart();
    long seconds = duration.toSecondsPart();
    StringBuilder text = new StringBuilder();
    if (days > 0) {
      text.append(days).append('d');
    }
    if (hours > 0) {
      text.append(hours).append('h');
    }
    if (minutes > 0) {
      text.append(minutes).append('m');
    }
    if (seconds > 0 && days == 0) {
      text.append(seconds).append('s');
    }
    return text.toString();
  }

  private String describe(SagaEvent event) {
    if (event instanceof SagaStarted e) {
      return "input "
          + excerpt(e.input())
          + (e.deadline() == null ? "" : ", deadline " + offset(e.deadline()));
    } else if (event instanceof StepSucceeded e) {
      return e.step()
          + " #"
          + e.attempt()
          + " -> "
          + excerpt(e.output())
          + "; next "
          + e.nextStep();
    } else if (event instanceof SagaCompleted e) {
      return e.step() + " #" + e.attempt() + " -> " + excerpt(e.output());
    } else if (event instanceof StepAttemptFailed e) {
      return e.step() + " #" + e.attempt() + ": " + e.error() + "; retry at " + offset(e.retryAt());
    } else if (event instanceof StepFailed e) {
      return e.step() + " #" + e.attempt() + ": " + e.reason() + undoing(e.compensations());
    } else if (event instanceof StepFailedAfterPivot e) {
      return e.step() + " #" + e.attempt() + ": " + e.reason();
    } else if (event instanceof CompensationStarted e) {
      return e.reason() + undoing(e.compensations());
    } else if (event instanceof CompensationAttemptFailed e) {
      return "undo "
          + e.step()
          + " #"
          + e.attempt()
          + ": "
          + e.error()
          + "; retry at "
          + offset(e.retryAt());
    } else if (event instanceof StepCompensated e) {
      return "undo "
          + e.step()
          + " #"
          + e.attempt()
          + (e.unreadable() == null ? "" : ": " + e.unreadable());
    } else if (event instanceof CompensationSkipped e) {
      return "undo " + e.step() + " left out: " + e.error();
    } else if (event instanceof CompensationFailed e) {
      return "undo " + e.step() + " #" + e.attempt() + ": " + e.reason();
    } else if (event instanceof SagaFailed e) {
      return e.reason();
    } else if (event instanceof SagaResumed e) {
      return "command " + e.commandId();
    }
    return event.toString();
  }

  private static String undoing(List<String> compensations) {
    return compensations.isEmpty() ? "; nothing to undo" : "; undo " + compensations;
  }

  private String excerpt(JsonNode json) {
    if (json == null) {
      return "(none)";
    }
    String text = json.toString();
    return text.length() <= EXCERPT ? text : text.substring(0, EXCERPT) + "…";
  }
}
