package io.sagaflow.orchestrator.internal;

import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Lets at most as many calls to one participant host into pekko-http's pool as the pool has
 * connections, so that no call ever waits inside the pool, and decides at the moment a connection
 * is free whether each waiting call is still to be sent.
 *
 * <p>pekko-http cannot take back a request it has queued: a call that waited there past its
 * deadline was still sent once a connection freed up, long after the saga had given up on the
 * attempt, retried it, or started compensating the step (a forward call arriving after its
 * compensation). A node frozen while calls waited sent them all when it woke, fenced or not. Here a
 * call that is no longer wanted is dropped before anything of it leaves the node.
 *
 * <p>Lock-free: a call is queued, then whoever changes the queue or frees a permit drains it, so
 * that a permit freed while a call is queued is never lost.
 */
final class ConnectionGate {

  /** A call waiting for a connection. */
  interface Waiting {
    /**
     * Sends the call now if it is still wanted, holding a permit until its connection is free again
     * ({@link #release()}); returns false when it dropped the call instead.
     */
    boolean start();
  }

  private final int permits;
  private final int maxWaiting;
  private final AtomicInteger inUse = new AtomicInteger();
  private final AtomicInteger waitingCount = new AtomicInteger();
  private final Queue<Waiting> waiting = new ConcurrentLinkedQueue<>();

  /**
   * @param permits the pool's connections to this host (its {@code max-connections})
   * @param maxWaiting the most calls that may wait (its {@code max-open-requests})
   */
  ConnectionGate(int permits, int maxWaiting) {
    if (permits < 1 || maxWaiting < 1) {
      throw new IllegalArgumentException(
          "permits and maxWaiting must be > 0, were " + permits + " and " + maxWaiting);
    }
    this.permits = permits;
    this.maxWaiting = maxWaiting;
  }

  /** Queues a call, started at once if a connection is free; false when too many wait already. */
  boolean offer(Waiting call) {
    if (waitingCount.incrementAndGet() > maxWaiting) {
      waitingCount.decrementAndGet();
      return false;
    }
    waiting.add(call);
    drain();
    return true;
  }

  /** A started call's connection is free again. */
  void release() {
    inUse.decrementAndGet();
    drain();
  }

  /** Calls sent and not yet released. */
  int inUse() {
    return inUse.get();
  }

  /** Calls waiting for a connection. */
  int waiting() {
    return waitingCount.get();
  }

  private void drain() {
    while (!waiting.isEmpty()) {
      int used = inUse.get();
      if (used >= permits) {
        return;
      }
      if (!inUse.compareAndSet(used, used + 1)) {
        continue;
      }
      Waiting call = waiting.poll();
      if (call == null) {
        inUse.decrementAndGet();
        continue;
      }
      waitingCount.decrementAndGet();
      boolean started;
      try {
        started = call.start();
      } catch (RuntimeException e) {
        started = false;
      }
      if (!started) {
        inUse.decrementAndGet();
      }
    }
  }
}
