package io.sagaflow.chaos.run;

import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.EmbeddedDatabase;
import io.sagaflow.persistence.Migrations;
import io.sagaflow.persistence.RestartableServer;
import java.nio.file.Path;

/**
 * The run's one PostgreSQL server (zonky's embedded binaries, durable: fsync and synchronous commit
 * on), its data under {@code <run-dir>/postgres}, that the run crashes ({@code pg_ctl stop -m
 * immediate}: SIGQUIT to the postmaster) and starts again on the same port and data: a {@link
 * RestartableServer}, migrated before the nodes start.
 */
final class ChaosDatabase implements AutoCloseable {
  private final RestartableServer server;

  private ChaosDatabase(RestartableServer server) {
    this.server = server;
  }

  /** Starts the server in {@code dir} on a free port and migrates the schema. */
  static ChaosDatabase start(Path dir) {
    RestartableServer server =
        RestartableServer.start(
            new EmbeddedDatabase.Settings(dir.resolve("postgres"), 0, true),
            dir.resolve("postgres.log"));
    try {
      Migrations.migrate(server.settings());
      return new ChaosDatabase(server);
    } catch (RuntimeException e) {
      server.close();
      throw new IllegalStateException("could not prepare the run's PostgreSQL: " + e, e);
    }
  }

  DatabaseSettings settings() {
    return server.settings();
  }

  long pid() {
    return server.pid();
  }

  /** Immediate shutdown; returns once the postmaster has exited. */
  void crash() {
    server.crash();
  }

  /** Starts the server again on the same port and data; returns once it accepts connections. */
  void restart() {
    server.restart();
  }

  boolean accepts() {
    return server.accepts();
  }

  @Override
  public void close() {
    server.close();
  }
}
