package io.sagaflow.testkit;

import io.sagaflow.orchestrator.history.Cursor;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Every attempt one saga made, in the order it made them: participant calls, as the scripted
 * participants answered them, and runs of local steps. Written on the saga's thread, read by the
 * test's.
 */
final class CallLog {

  private sealed interface Entry {}

  /** A participant call; {@code timesOutAt} is when the saga gives up on it, null if answered. */
  private record Http(RecordedCall call, Instant timesOutAt) implements Entry {}

  /**
   * A local step's function, handed to the pool when the saga had written {@code eventsBefore}
   * events: the saga runs the attempt its state says is due, so those events name it.
   */
  private record Local(int eventsBefore, Instant at) implements Entry {}

  private final List<Entry> entries = new ArrayList<>();

  synchronized void called(RecordedCall call, Instant timesOutAt) {
    entries.add(new Http(call, timesOutAt));
  }

  synchronized void ranLocally(int eventsBefore, Instant at) {
    entries.add(new Local(eventsBefore, at));
  }

  /** How many attempts were made so far. */
  synchronized int size() {
    return entries.size();
  }

  /**
   * Whether the newest attempt is a local step's whose outcome the saga has not written yet ({@code
   * events} written so far).
   */
  synchronized boolean awaitsLocalOutcome(int events) {
    return !entries.isEmpty()
        && entries.get(entries.size() - 1) instanceof Local local
        && local.eventsBefore() == events;
  }

  /** The soonest time after {@code now} when a call left without an answer times out. */
  synchronized Optional<Instant> nextTimeout(Instant now) {
    return entries.stream()
        .filter(Http.class::isInstance)
        .map(e -> ((Http) e).timesOutAt())
        .filter(t -> t != null && t.isAfter(now))
        .min(Instant::compareTo);
  }

  /** Every attempt in order, each local one named by the saga's {@code events}. */
  synchronized List<RecordedCall> calls(List<SagaEvent> events) {
    var calls = new ArrayList<RecordedCall>();
    for (Entry entry : entries) {
      if (entry instanceof Http http) {
        calls.add(http.call());
      } else {
        Local local = (Local) entry;
        Cursor due = dueAfter(events.subList(0, local.eventsBefore()));
        calls.add(RecordedCall.local(due.phase(), due.step(), due.attempt(), local.at()));
      }
    }
    return calls;
  }

  /** What the saga's state after {@code events} says is due: the attempt it runs next. */
  private static Cursor dueAfter(List<SagaEvent> events) {
    SagaSnapshot state = new SagaSnapshot.NotStarted();
    for (SagaEvent event : events) {
      state = state.apply(event);
    }
    // In a parallel group several attempts are due: a local one is told as the first of them.
    var started = (SagaSnapshot.Started) state;
    return started.cursor() != null ? started.cursor() : started.cursors().get(0);
  }
}
