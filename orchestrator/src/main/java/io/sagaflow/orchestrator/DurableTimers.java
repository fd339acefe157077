package io.sagaflow.orchestrator;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Where a saga that has nothing to do for a while (a retry's backoff, later a signal's timeout)
 * keeps the time it next needs to run, so that it can leave memory: "saga {@code sagaId}, whose
 * journal ends at {@code seqNr}, next needs to run at {@code dueAt}, or when a message reaches it".
 * Something outside the engine reads the due times back and wakes each saga through sharding, on
 * whichever node owns it then. The engine only writes; the node's persistence implements it.
 */
public interface DurableTimers {

  /**
   * Keeps the saga's due time (replacing the one it had); completes once it is durable. A saga
   * leaves memory only after that, and keeps its in-memory timer until it has left.
   */
  CompletionStage<Void> schedule(String sagaId, Instant dueAt, long seqNr);

  /**
   * As {@link #schedule(String, Instant, long)}, for a saga that waits for signal {@code signal}
   * since {@code since}: kept with the timer, so that the sagas waiting for a signal can be listed
   * (a saga writes it for every signal wait, also one short enough to wait in memory).
   */
  default CompletionStage<Void> schedule(
      String sagaId, Instant dueAt, long seqNr, String signal, Instant since) {
    return schedule(sagaId, dueAt, seqNr);
  }

  /**
   * Removes the saga's due time if it was written before its journal's {@code seqNr}-th event: a
   * saga that has written an event since no longer waits on it. Best effort: a timer left behind
   * only costs a wake that finds nothing to do, and readers check it against the journal.
   */
  default CompletionStage<Void> clear(String sagaId, long seqNr) {
    return CompletableFuture.completedFuture(null);
  }

  /** Told each time a saga whose due time is durable asks to be passivated (a metric). */
  default void passivated() {}

  /** No durable timers: every waiting saga stays in memory on its actor timer. */
  DurableTimers NONE =
      (sagaId, dueAt, seqNr) ->
          CompletableFuture.failedFuture(new UnsupportedOperationException("no durable timers"));

  /** What the engine does with waits: which are written down, and from how long a wait on. */
  record Waits(DurableTimers timers, Duration durableFrom) {
    /** Every wait in memory. */
    public static final Waits IN_MEMORY = new Waits(NONE, Duration.ofDays(365_000));

    /** Whether a saga waiting until {@code dueAt}, at {@code now}, is passivated. */
    boolean durable(Instant now, Instant dueAt) {
      return timers != NONE && Duration.between(now, dueAt).compareTo(durableFrom) >= 0;
    }
  }
}
