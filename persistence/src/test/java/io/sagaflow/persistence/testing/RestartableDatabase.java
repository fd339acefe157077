package io.sagaflow.persistence.testing;

import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.EmbeddedDatabase;
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
 * An embedded PostgreSQL of its own that a test can crash and start again on the same port and
 * data: {@link #crash()} is {@code pg_ctl stop -m immediate} (SIGQUIT to the postmaster: every
 * connection is dropped, nothing is checkpointed, the restart runs crash recovery), {@link
 * #restart()} runs the postmaster again with the command line it had.
 */
public final class RestartableDatabase implements AutoCloseable {
  private static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

  private final Path root;
  private final EmbeddedDatabase server;
  private final List<String> command;
  private long pid;
  private Process restarted;

  private RestartableDatabase(Path root, EmbeddedDatabase server, List<String> command) {
    this.root = root;
    this.server = server;
    this.command = command;
    this.pid = server.serverPid();
  }

  /** Starts a throwaway server (fsync off) in a fresh temporary directory. */
  public static RestartableDatabase start() {
    try {
      Path root = Files.createTempDirectory("sagaflow-outage-pg-");
      EmbeddedDatabase server =
          EmbeddedDatabase.start(new EmbeddedDatabase.Settings(root.resolve("postgres"), 0, false));
      // The postmaster's own command line, as zonky started it, is what a restart runs again.
      String cmdline =
          Files.readString(Path.of("/proc", Long.toString(server.serverPid()), "cmdline"));
      List<String> command = new ArrayList<>();
      if (LinuxUtils.isUnshareAvailable()) {
        command.addAll(List.of("unshare", "-U"));
      }
      command.addAll(Arrays.asList(cmdline.split("\0")));
      return new RestartableDatabase(root, server, command);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public DatabaseSettings settings() {
    return server.settings();
  }

  /** Immediate shutdown of the server; returns once its process has exited. */
  public void crash() {
    ProcessHandle postmaster =
        ProcessHandle.of(pid).orElseThrow(() -> new IllegalStateException("no server " + pid));
    signal("QUIT", pid);
    if (!await(() -> !postmaster.isAlive() || isZombie(pid), STOP_TIMEOUT)) {
      throw new IllegalStateException("PostgreSQL (pid " + pid + ") did not stop");
    }
    if (restarted != null) {
      waitFor(restarted);
    }
  }

  /** Starts the server again on the same port and data; returns once it accepts connections. */
  public void restart() {
    try {
      restarted =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(
                  ProcessBuilder.Redirect.appendTo(root.resolve("restarted.log").toFile()))
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    pid = restarted.pid();
    if (!await(this::accepts, START_TIMEOUT)) {
      throw new IllegalStateException(
          "PostgreSQL did not come back; see " + root.resolve("restarted.log"));
    }
  }

  private boolean accepts() {
    DatabaseSettings db = settings();
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password())) {
      return c.isValid(1);
    } catch (SQLException e) {
      return false;
    }
  }

  /** Stops the server (whichever process runs it) and deletes its directory. */
  @Override
  public void close() {
    if (restarted != null && restarted.isAlive()) {
      signal("INT", restarted.pid());
      waitFor(restarted);
    }
    server.close();
    EmbeddedDatabase.deleteDirectory(root);
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

  private static void signal(String signal, long pid) {
    try {
      Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(pid)).start();
      if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0) {
        throw new IllegalStateException("kill -" + signal + " " + pid + " failed");
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static boolean isZombie(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      int afterName = stat.lastIndexOf(')');
      return afterName > 0 && stat.charAt(afterName + 2) == 'Z';
    } catch (IOException e) {
      return true;
    }
  }

  private static boolean await(java.util.function.BooleanSupplier condition, Duration timeout) {
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
