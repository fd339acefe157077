package io.sagaflow.persistence;

import java.time.Duration;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;
import org.apache.pekko.pattern.CircuitBreakerOpenException;

/**
 * Whether the journal takes writes now, as its latest outcomes say: the journal batches that {@link
 * BatchingJournalDao} writes, and the node's probes through the journal plugin (a recovery, as
 * every new saga makes first, through the plugin's circuit breaker). The latest outcome wins, so a
 * failed write makes the node unready at once and a later successful probe or write ready again.
 * Nothing is known before the first outcome: not writable. Costs one volatile write per journal
 * batch, not per saga.
 */
public final class JournalHealth implements Extension {
  private static final Id ID = new Id();
  private static final Duration MIN_RETRY_AFTER = Duration.ofSeconds(1);

  /**
   * The latest outcome. {@code halfOpensAt}: when a failure came from the open circuit breaker, the
   * {@link System#nanoTime()} at which it lets a call through again; else {@code at}.
   */
  private record Outcome(boolean ok, long at, long halfOpensAt, String why) {}

  private volatile Outcome latest = new Outcome(false, System.nanoTime(), 0, "no journal call yet");

  JournalHealth() {}

  public static JournalHealth get(ActorSystem system) {
    return ID.get(system);
  }

  /** A journal call (a write or a probe) succeeded. */
  public void succeeded() {
    if (!latest.ok()) {
      latest = new Outcome(true, System.nanoTime(), 0, "");
    }
  }

  /** A journal call failed with {@code cause} (or a cause of it). */
  public void failed(Throwable cause) {
    long now = System.nanoTime();
    long halfOpensAt = now;
    for (Throwable t = cause; t != null; t = t.getCause() == t ? null : t.getCause()) {
      if (t instanceof CircuitBreakerOpenException open) {
        halfOpensAt = now + open.remainingDuration().toNanos();
        break;
      }
    }
    latest = new Outcome(false, now, halfOpensAt, String.valueOf(cause));
  }

  /** Whether the latest journal call succeeded. */
  public boolean writable() {
    return latest.ok();
  }

  /** Why the journal is not writable (the latest failure), or empty when it is. */
  public String problem() {
    return latest.why();
  }

  /**
   * When to retry a refused or unconfirmed call: until the journal's circuit breaker lets calls
   * through again when it is open, at least a second.
   */
  public Duration retryAfter() {
    Outcome now = latest;
    Duration untilHalfOpen = Duration.ofNanos(now.halfOpensAt() - System.nanoTime());
    return now.ok() || untilHalfOpen.compareTo(MIN_RETRY_AFTER) < 0
        ? MIN_RETRY_AFTER
        : untilHalfOpen;
  }

  private static final class Id extends AbstractExtensionId<JournalHealth> {
    @Override
    public JournalHealth createExtension(ExtendedActorSystem system) {
      return new JournalHealth();
    }
  }
}
