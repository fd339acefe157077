package io.sagaflow.chaos.run;

import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.EmbeddedDatabase;
import io.sagaflow.persistence.Migrations;
import io.zonky.test.db.postgres.util.LinuxUtils;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The run's one PostgreSQL server (zonky's embedded binaries, durable: fsync and synchronous commit
 * on), its data under {@code <run-dir>/postgres}, that the run crashes and starts again on the same
 * port and data. {@link #crash()} is what {@code pg_ctl stop -m immediate} does: SIGQUIT to the
 * postmaster, which drops every connection and exits without a checkpoint, so the restart runs
 * crash recovery. {@link #restart()} runs the postmaster again with the command line zonky gave it
 * (under {@code unshare -U} as zonky does when run as root).
 */
final class ChaosDatabase implements AutoCloseable {
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

  private final Path dir;
  private final EmbeddedDatabase server;
  private final List<String> command;
  private final Thread stopOnExit;
  private volatile long pid;
  private volatile Process restarted;

  private ChaosDatabase(Path dir, EmbeddedDatabase server, List<String> command) {
    this.dir = dir;
    this.server = server;
    this.command = command;
    this.pid = server.serverPid();
    // Ctrl+C of the runner: a server it restarted is its child and would outlive it.
    this.stopOnExit = new Thread(this::stopRestarted, "chaos-db-stop");
    Runtime.getRuntime().addShutdownHook(stopOnExit);
  }

  /** Starts the server in {@code dir} on a free port and migrates the schema. */
  static ChaosDatabase start(Path dir) {
    EmbeddedDatabase server =
        EmbeddedDatabase.start(new EmbeddedDatabase.Settings(dir.resolve("postgres"), 0, true));
    try {
      String cmdline =
          Files.readString(Path.of("/proc", Long.toString(server.serverPid()), "cmdline"));
      List<String> command = new ArrayList<>();
      if (LinuxUtils.isUnshareAvailable()) {
        command.addAll(List.of("unshare", "-U"));
      }
      command.addAll(Arrays.asList(cmdline.split("\0")));
      Migrations.migrate(server.settings());
      return new ChaosDatabase(dir, server, command);
    } catch (IOException | RuntimeException e) {
      server.close();
      throw new IllegalStateException("could not prepare the run's PostgreSQL: " + e, e);
    }
  }

  DatabaseSettings settings() {
    return server.settings();
  }

  long pid() {
    return pid;
  }

  /** Immediate shutdown; returns once the postmaster has exited. */
  void crash() {
    long victim = pid;
    if (!Signals.send("QUIT", victim)) {
      throw new IllegalStateException("kill -QUIT " + victim + " failed");
    }
    if (!Await.condition(() -> Signals.isGone(victim), STOP_TIMEOUT)) {
      throw new IllegalStateException("PostgreSQL (pid " + victim + ") did not stop");
    }
    Process previous = restarted;
    if (previous != null) {
      waitFor(previous);
    }
  }

  /** Starts the server again on the same port and data; returns once it accepts connections. */
  void restart() {
    try {
      restarted =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(
                  ProcessBuilder.Redirect.appendTo(dir.resolve("postgres.log").toFile()))
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    pid = restarted.pid();
    if (!Await.condition(this::accepts, START_TIMEOUT)) {
      throw new IllegalStateException(
          "PostgreSQL did not come back within " + START_TIMEOUT + "; see " + dir);
    }
  }

  boolean accepts() {
    DatabaseSettings db = settings();
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password())) {
      return c.isValid(2);
    } catch (SQLException e) {
      return false;
    }
  }

  private void stopRestarted() {
    Process p = restarted;
    if (p != null && p.isAlive()) {
      Signals.send("INT", p.pid());
      waitFor(p);
    }
  }

  @Override
  public void close() {
    stopRestarted();
    server.close();
    try {
      Runtime.getRuntime().removeShutdownHook(stopOnExit);
    } catch (IllegalStateException e) {
      // The JVM is exiting: the hook runs anyway.
    }
  }

  private static void waitFor(Process process) {
    try {
      if (!process.waitFor(STOP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
