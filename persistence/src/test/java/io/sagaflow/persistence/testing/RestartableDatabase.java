package io.sagaflow.persistence.testing;

import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.EmbeddedDatabase;
import io.sagaflow.persistence.RestartableServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * An embedded PostgreSQL of its own, in a fresh temporary directory, that a test can crash and
 * start again on the same port and data ({@link RestartableServer}); closing it deletes the
 * directory. Durable (fsync and synchronous_commit on), as a production server is: with
 * synchronous_commit off an immediate shutdown loses the last commits, and a test that crashed the
 * server just after the node's lease was written found the lease gone and the node fenced.
 */
public final class RestartableDatabase implements AutoCloseable {
  private final Path root;
  private final RestartableServer server;

  private RestartableDatabase(Path root, RestartableServer server) {
    this.root = root;
    this.server = server;
  }

  public static RestartableDatabase start() {
    try {
      Path root = Files.createTempDirectory("sagaflow-outage-pg-");
      return new RestartableDatabase(
          root,
          RestartableServer.start(
              new EmbeddedDatabase.Settings(root.resolve("postgres"), 0, true),
              root.resolve("restarted.log")));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public DatabaseSettings settings() {
    return server.settings();
  }

  /** Immediate shutdown of the server; returns once its process has exited. */
  public void crash() {
    server.crash();
  }

  /** Starts the server again on the same port and data; returns once it accepts connections. */
  public void restart() {
    server.restart();
  }

  /** Stops the server (whichever process runs it) and deletes its directory. */
  @Override
  public void close() {
    server.close();
    EmbeddedDatabase.deleteDirectory(root);
  }
}
