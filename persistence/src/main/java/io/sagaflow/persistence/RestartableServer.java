package io.sagaflow.persistence;

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
import java.util.function.BooleanSupplier;

/**
 * An embedded PostgreSQL that can be crashed and started again on the same port and data, for the
 * tests and the chaos run that prove what a database crash does. {@link #crash()} is what {@code
 * pg_ctl stop -m immediate} does: SIGQUIT to the postmaster, which drops every connection and exits
 * without a checkpoint, so the restart runs crash recovery. {@link #restart()} runs the postmaster
 * again with the command line zonky gave it (under {@code unshare -U}, as zonky does as root). A
 * server restarted by this JVM is its child: a shutdown hook stops it should the JVM exit first.
 */
public final class RestartableServer implements AutoCloseable {
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);

  private final EmbeddedDatabase server;
  private final List<String> command;
  private final Path restartLog;
  private final Thread stopOnExit;
  private volatile long pid;
  private volatile Process restarted;

  private RestartableServer(EmbeddedDatabase server, List<String> command, Path restartLog) {
    this.server = server;
    this.command = command;
    this.restartLog = restartLog;
    this.pid = server.serverPid();
    this.stopOnExit = new Thread(this::stopRestarted, "sagaflow-restarted-postgres-stop");
    Runtime.getRuntime().addShutdownHook(stopOnExit);
  }

  /**
   * Starts a server with {@code settings}; a restarted server's output is appended to {@code
   * restartLog}.
   */
  public static RestartableServer start(EmbeddedDatabase.Settings settings, Path restartLog) {
    EmbeddedDatabase server = EmbeddedDatabase.start(settings);
    try {
      // The postmaster's own command line, as zonky started it, is what a restart runs again.
      String cmdline =
          Files.readString(Path.of("/proc", Long.toString(server.serverPid()), "cmdline"));
      List<String> command = new ArrayList<>();
      if (LinuxUtils.isUnshareAvailable()) {
        command.addAll(List.of("unshare", "-U"));
      }
      command.addAll(Arrays.asList(cmdline.split("\0")));
      return new RestartableServer(server, command, restartLog);
    } catch (IOException | RuntimeException e) {
      server.close();
      throw new IllegalStateException("could not read PostgreSQL's command line: " + e, e);
    }
  }

  public DatabaseSettings settings() {
    return server.settings();
  }

  /** The postmaster running now. */
  public long pid() {
    return pid;
  }

  /** Immediate shutdown; returns once the postmaster has exited. */
  public void crash() {
    long victim = pid;
    ProcessSignals.require("QUIT", victim, "PostgreSQL");
    if (!await(() -> ProcessSignals.isGone(victim), STOP_TIMEOUT)) {
      throw new IllegalStateException("PostgreSQL (pid " + victim + ") did not stop");
    }
    Process previous = restarted;
    if (previous != null) {
      waitFor(previous);
    }
  }

  /** Starts the server again on the same port and data; returns once it accepts connections. */
  public void restart() {
    try {
      restarted =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.appendTo(restartLog.toFile()))
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    pid = restarted.pid();
    if (!await(this::accepts, START_TIMEOUT)) {
      throw new IllegalStateException(
          "PostgreSQL did not come back within " + START_TIMEOUT + "; see " + restartLog);
    }
  }

  /** Whether the server takes a connection now. */
  public boolean accepts() {
    DatabaseSettings db = settings();
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password())) {
      return c.isValid(2);
    } catch (SQLException e) {
      return false;
    }
  }

  /** Stops the server, whichever process runs it. */
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

  private void stopRestarted() {
    Process p = restarted;
    if (p != null && p.isAlive()) {
      ProcessSignals.require("INT", p.pid(), "PostgreSQL");
      waitFor(p);
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

  private static boolean await(BooleanSupplier condition, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline >= 0) {
        return false;
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return true;
  }
}
