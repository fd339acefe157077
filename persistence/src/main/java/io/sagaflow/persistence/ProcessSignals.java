package io.sagaflow.persistence;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Signals to processes by pid, through {@code kill(1)} (the JDK sends only TERM and KILL), and what
 * {@code /proc} says of a process: for the embedded database's crash-like stops and for the tests
 * and the chaos run that freeze, kill and watch processes.
 */
public final class ProcessSignals {
  private ProcessSignals() {}

  /** {@code kill -<signal> <pid>}; whether it succeeded. */
  public static boolean send(String signal, long pid) {
    try {
      Process kill =
          new ProcessBuilder("kill", "-" + signal, Long.toString(pid))
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      if (!kill.waitFor(10, TimeUnit.SECONDS)) {
        kill.destroyForcibly();
        return false;
      }
      return kill.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * {@link #send}, or an {@link IllegalStateException} naming the signal and the process when it
   * could not be sent.
   */
  public static void require(String signal, long pid, String what) {
    if (!send(signal, pid)) {
      throw new IllegalStateException("kill -" + signal + " " + what + " (pid " + pid + ") failed");
    }
  }

  /**
   * Exited, or a zombie nobody has reaped yet: a postmaster started by zonky's {@code pg_ctl} is
   * not our child, and in a container nobody may reap it.
   */
  public static boolean isGone(long pid) {
    try {
      return state(pid) == 'Z';
    } catch (NoSuchFileException e) {
      return true;
    } catch (IOException e) {
      return ProcessHandle.of(pid).map(p -> !p.isAlive()).orElse(true);
    }
  }

  /** The process's state letter in {@code /proc/<pid>/stat} ({@code T} when stopped). */
  public static char stateOf(long pid) {
    try {
      return state(pid);
    } catch (IOException e) {
      return '?';
    }
  }

  private static char state(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
    int afterName = stat.lastIndexOf(')');
    return afterName > 0 && afterName + 2 < stat.length() ? stat.charAt(afterName + 2) : '?';
  }
}
