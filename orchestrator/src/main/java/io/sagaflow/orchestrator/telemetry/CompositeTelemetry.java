package io.sagaflow.orchestrator.telemetry;

import io.sagaflow.orchestrator.history.Phase;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Several telemetries as one. A saga's trace and an attempt's {@code traceparent} are the first
 * one's (the one that traces goes first in the list); every one is told how an attempt ended.
 */
final class CompositeTelemetry implements SagaTelemetry {

  private final List<SagaTelemetry> all;

  CompositeTelemetry(List<SagaTelemetry> all) {
    this.all = all;
  }

  @Override
  public void eventWritten(String sagaId, SagaEvent event, SagaSnapshot after) {
    for (SagaTelemetry t : all) {
      t.eventWritten(sagaId, event, after);
    }
  }

  @Override
  public Trace startTrace(String sagaId, String sagaType, String requestTraceparent) {
    return all.get(0).startTrace(sagaId, sagaType, requestTraceparent);
  }

  @Override
  public Attempt attemptStarted(AttemptStart start) {
    var attempts = new ArrayList<Attempt>(all.size());
    for (SagaTelemetry t : all) {
      attempts.add(t.attemptStarted(start));
    }
    String traceparent = attempts.get(0).traceparent();
    return new Attempt() {
      @Override
      public String traceparent() {
        return traceparent;
      }

      @Override
      public void ended(AttemptEnd end) {
        for (Attempt a : attempts) {
          a.ended(end);
        }
      }
    };
  }

  @Override
  public void retryScheduled(
      String sagaType, Phase phase, String step, Duration delay, boolean retryAfter) {
    for (SagaTelemetry t : all) {
      t.retryScheduled(sagaType, phase, step, delay, retryAfter);
    }
  }

  @Override
  public void duplicate(Duplicate kind, String sagaType) {
    for (SagaTelemetry t : all) {
      t.duplicate(kind, sagaType);
    }
  }
}
