package io.sagaflow.node;

import io.sagaflow.orchestrator.fence.NodeFence;
import io.sagaflow.persistence.JournalHealth;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * What the node's readiness depends on beyond cluster membership: the journal takes writes (as
 * {@link JournalHealth} last saw it) and the HTTP API is bound. Read by the health checks that
 * pekko-management runs for {@code /ready}; neither blocks, so an unready node answers 503 at once.
 */
public final class NodeReadiness implements Extension {
  private static final Id ID = new Id();

  private volatile boolean httpBound;

  public static NodeReadiness get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  void httpBound(boolean bound) {
    this.httpBound = bound;
  }

  private static final class Id extends ExtensionId<NodeReadiness> {
    @Override
    public NodeReadiness createExtension(ActorSystem<?> system) {
      return new NodeReadiness();
    }
  }

  /**
   * Readiness check: the latest journal call (a write, or the {@link JournalProbe}'s recovery
   * through the journal's circuit breaker) succeeded.
   */
  public static final class JournalCheck implements Supplier<CompletionStage<Boolean>> {
    private final JournalHealth journal;

    public JournalCheck(org.apache.pekko.actor.ActorSystem system) {
      this.journal = JournalHealth.get(system);
    }

    @Override
    public CompletionStage<Boolean> get() {
      return CompletableFuture.completedFuture(journal.writable());
    }
  }

  /**
   * Readiness check: the node holds its lease, so it may call participants and write events (see
   * {@link NodeLease}).
   */
  public static final class FenceCheck implements Supplier<CompletionStage<Boolean>> {
    private final NodeFence fence;

    public FenceCheck(org.apache.pekko.actor.ActorSystem system) {
      this.fence = NodeFence.get(system);
    }

    @Override
    public CompletionStage<Boolean> get() {
      return CompletableFuture.completedFuture(fence.mayAct());
    }
  }

  /** Readiness check: the HTTP API is bound and taking requests. */
  public static final class HttpCheck implements Supplier<CompletionStage<Boolean>> {
    private final NodeReadiness readiness;

    public HttpCheck(org.apache.pekko.actor.ActorSystem system) {
      this.readiness =
          NodeReadiness.get(org.apache.pekko.actor.typed.javadsl.Adapter.toTyped(system));
    }

    @Override
    public CompletionStage<Boolean> get() {
      return CompletableFuture.completedFuture(readiness.httpBound);
    }
  }
}
