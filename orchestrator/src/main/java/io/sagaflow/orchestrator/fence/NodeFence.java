package io.sagaflow.orchestrator.fence;

import java.time.Duration;
import java.util.concurrent.atomic.LongAdder;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;

/**
 * Whether this node may act on its sagas now: call a participant or write a saga's events. A node
 * that may have been declared down by the others (it was frozen past the failure detector, or it
 * sits on the minority side of a partition) must do neither, since another node may already run its
 * sagas.
 *
 * <p>The node holds a lease in PostgreSQL that it renews twice a second (see {@code
 * io.sagaflow.node.NodeLease}); this object is the lease as the node knows it locally: valid until
 * the monotonic time its last renewal started plus the lease's time to live. A node frozen by
 * {@code SIGSTOP} or a long pause wakes with that time passed, so its first check fails before it
 * has heard from anyone. The database applies the same rule to every journal write by its own clock
 * ({@link #nodeKey()} names the lease), which closes the gap between a check here and the write it
 * allows.
 *
 * <p>Not enabled (a saga engine without a node lease, as in the engine's own tests): every check
 * passes.
 */
public final class NodeFence implements Extension {
  private static final Id ID = new Id();

  private record State(
      boolean enabled, String nodeKey, long validUntilNanos, boolean minority, String closed) {}

  private volatile State state = new State(false, null, 0, false, null);
  private final LongAdder refused = new LongAdder();

  public NodeFence() {}

  public static NodeFence get(ActorSystem system) {
    return ID.get(system);
  }

  /** Turns the fence on for the lease {@code nodeKey}; nothing is allowed until it is renewed. */
  public synchronized void enable(String nodeKey) {
    state = new State(true, nodeKey, System.nanoTime(), false, null);
  }

  /** The lease was renewed by a call that started at {@code startedNanos}. */
  public synchronized void renewed(long startedNanos, Duration ttl) {
    State s = state;
    if (s.closed() == null) {
      state = new State(true, s.nodeKey(), startedNanos + ttl.toNanos(), s.minority(), null);
    }
  }

  /** This node sees itself on the minority side of the cluster (or no longer so). */
  public synchronized void minority(boolean minority) {
    State s = state;
    state = new State(s.enabled(), s.nodeKey(), s.validUntilNanos(), minority, s.closed());
  }

  /** Closes the fence for the rest of this node's life: it must exit. */
  public synchronized void closeForGood(String reason) {
    State s = state;
    state = new State(s.enabled(), s.nodeKey(), s.validUntilNanos(), s.minority(), reason);
  }

  public boolean enabled() {
    return state.enabled();
  }

  /** The lease's key in the database, null while not enabled. */
  public String nodeKey() {
    return state.nodeKey();
  }

  /** Whether the fence was closed for good ({@link #closeForGood}). */
  public boolean closedForGood() {
    return state.closed() != null;
  }

  /** Whether this node may call a participant or write an event now. */
  public boolean mayAct() {
    if (refusal() == null) {
      return true;
    }
    refused.increment();
    return false;
  }

  /** How many times {@link #mayAct()} said no. */
  public long refusals() {
    return refused.sum();
  }

  /** Why this node may not act now, or null when it may. */
  public String refusal() {
    State s = state;
    if (!s.enabled()) {
      return null;
    }
    if (s.closed() != null) {
      return "this node is fenced for good: " + s.closed();
    }
    if (s.minority()) {
      return "this node is on the minority side of the cluster: another node may take its sagas";
    }
    long left = s.validUntilNanos() - System.nanoTime();
    if (left <= 0) {
      return "this node's lease has not been renewed for "
          + Duration.ofNanos(-left).toMillis()
          + " ms past its expiry: another node may run its sagas";
    }
    return null;
  }

  /** Refuses when this node may not act. */
  public void check() throws FencedException {
    String refusal = refusal();
    if (refusal != null) {
      throw new FencedException(refusal);
    }
  }

  private static final class Id extends AbstractExtensionId<NodeFence> {
    @Override
    public NodeFence createExtension(ExtendedActorSystem system) {
      return new NodeFence();
    }
  }
}
