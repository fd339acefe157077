package io.sagaflow.bench;

import com.typesafe.config.ConfigFactory;
import io.sagaflow.node.SagaflowNode;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.EmbeddedDatabase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.http.javadsl.Http;

/**
 * The node of one benchmark run, in this JVM: every port free (picked at start), the API on
 * loopback, and an embedded PostgreSQL in a fresh temporary directory — durable unless {@code
 * noFsync} — or the server of {@code SAGAFLOW_DB_URL}. Closing it stops the node and deletes the
 * directory.
 */
final class BenchNode implements AutoCloseable {

  private final SagaflowNode node;
  private final boolean embedded;
  private final Path dataDir;
  private final Consumer<String> progress;

  private BenchNode(SagaflowNode node, boolean embedded, Path dataDir, Consumer<String> progress) {
    this.node = node;
    this.embedded = embedded;
    this.dataDir = dataDir;
    this.progress = progress;
  }

  /**
   * Starts a node running {@code definitions}, with {@code overrides} on top of the bench's
   * settings (e.g. participant URLs).
   */
  static BenchNode start(
      Map<String, String> env,
      boolean noFsync,
      Map<String, Object> overrides,
      List<? extends SagaDefinition<?>> definitions,
      Consumer<String> progress) {
    Map<String, Object> settings = new HashMap<>(overrides);
    settings.put("sagaflow.http.host", "127.0.0.1");
    settings.put("sagaflow.http.port", 0);
    settings.put("pekko.management.http.port", 0);
    settings.put("pekko.remote.artery.canonical.port", 0);
    settings.put("sagaflow.db.embedded.durable", !noFsync);
    boolean embedded =
        DatabaseSettings.fromEnvironment(env, SagaflowNode.config(ConfigFactory.parseMap(settings)))
            .isEmbedded();
    Path dataDir = null;
    try {
      if (embedded) {
        dataDir = Files.createTempDirectory("sagaflow-bench-");
        settings.put("sagaflow.db.embedded.data-dir", dataDir.toString());
      }
      progress.accept(
          "starting a node ("
              + (embedded
                  ? "embedded PostgreSQL in " + dataDir + (noFsync ? ", fsync off" : "")
                  : "database from SAGAFLOW_DB_URL")
              + ")");
      SagaflowNode node = SagaflowNode.start(ConfigFactory.parseMap(settings), env, definitions);
      closeParticipantPoolsLast(node.system());
      return new BenchNode(node, embedded, dataDir, progress);
    } catch (IOException e) {
      throw new IllegalStateException("could not create a data directory: " + e.getMessage(), e);
    } catch (RuntimeException e) {
      if (dataDir != null) {
        EmbeddedDatabase.deleteDirectory(dataDir);
      }
      throw e;
    }
  }

  SagaflowNode node() {
    return node;
  }

  /** Whether the database is the embedded one (its processes' CPU can be read). */
  boolean embedded() {
    return embedded;
  }

  @Override
  public void close() {
    progress.accept("stopping the node");
    try {
      node.close();
    } finally {
      if (dataDir != null) {
        EmbeddedDatabase.deleteDirectory(dataDir);
      }
    }
  }

  /**
   * Closes the participant client's connection pools just before the actor system terminates, as
   * the runnable does; pools still open then log "connection pool has shut down unexpectedly".
   */
  private static void closeParticipantPoolsLast(ActorSystem<Void> system) {
    CoordinatedShutdown.get(system)
        .addTask(
            CoordinatedShutdown.PhaseBeforeActorSystemTerminate(),
            "bench-close-participant-pools",
            () -> Http.get(system).shutdownAllConnectionPools().thenApply(unused -> Done.done()));
  }
}
