package io.sagaflow.node;

import java.sql.Connection;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import javax.sql.DataSource;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Extension;
import org.apache.pekko.actor.typed.ExtensionId;

/**
 * What the node's readiness depends on beyond cluster membership: the journal's database answers
 * and the HTTP API is bound. Read by the health checks that pekko-management runs for {@code
 * /ready}.
 */
public final class NodeReadiness implements Extension {
  private static final Id ID = new Id();

  private volatile DataSource database;
  private volatile boolean httpBound;

  public static NodeReadiness get(ActorSystem<?> system) {
    return ID.apply(system);
  }

  void databaseIs(DataSource pool) {
    this.database = pool;
  }

  void httpBound(boolean bound) {
    this.httpBound = bound;
  }

  boolean journalAnswers() {
    DataSource pool = database;
    if (pool == null) {
      return false;
    }
    try (Connection connection = pool.getConnection()) {
      return connection.isValid(2);
    } catch (Exception e) {
      return false;
    }
  }

  private static final class Id extends ExtensionId<NodeReadiness> {
    @Override
    public NodeReadiness createExtension(ActorSystem<?> system) {
      return new NodeReadiness();
    }
  }

  /** Readiness check: the journal's database answers a validation query. */
  public static final class JournalCheck implements Supplier<CompletionStage<Boolean>> {
    private final NodeReadiness readiness;

    public JournalCheck(org.apache.pekko.actor.ActorSystem system) {
      this.readiness =
          NodeReadiness.get(org.apache.pekko.actor.typed.javadsl.Adapter.toTyped(system));
    }

    @Override
    public CompletionStage<Boolean> get() {
      return CompletableFuture.supplyAsync(readiness::journalAnswers);
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
