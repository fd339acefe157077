package io.sagaflow.testkit;

import io.sagaflow.orchestrator.internal.StepRunner;
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
   * events; {@code task} says which attempt it is (in a parallel group several are due at once).
   */
  private record Local(int eventsBefore, Instant at, StepRunner.LocalTask task) implements Entry {}

  private final List<Entry> entries = new ArrayList<>();

  synchronized void called(RecordedCall call, Instant timesOutAt) {
    entries.add(new Http(call, timesOutAt));
  }

  synchronized void ranLocally(int eventsBefore, Instant at, StepRunner.LocalTask task) {
    entries.add(new Local(eventsBefore, at, task));
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

  /** Every attempt in order. */
  synchronized List<RecordedCall> calls() {
    var calls = new ArrayList<RecordedCall>();
    for (Entry entry : entries) {
      if (entry instanceof Http http) {
        calls.add(http.call());
      } else {
        Local local = (Local) entry;
        StepRunner.LocalTask task = local.task();
        calls.add(RecordedCall.local(task.phase(), task.name(), task.attempt(), local.at()));
      }
    }
    return calls;
  }
}
