package io.sagaflow.node;

import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.testing.TestDatabase;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Node JVMs a crash test starts on one test database (a {@code main} class such as {@link
 * CrashTestNode}, with this JVM's class path), each writing its output to a file the test reads;
 * {@link #close} kills every one still running.
 */
final class NodeProcesses implements AutoCloseable {
  private final TestDatabase db;
  private final Class<?> main;
  private final List<Process> processes = new ArrayList<>();

  NodeProcesses(TestDatabase db, Class<?> main) {
    this.db = db;
    this.main = main;
  }

  /** Starts {@code main} with {@code args}, its output (stdout and stderr) in {@code output}. */
  Process launch(Path output, String... args) throws IOException {
    var command = new ArrayList<String>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-Xmx512m");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(main.getName());
    command.addAll(List.of(args));
    var builder =
        new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
    builder.environment().put(DatabaseSettings.URL_ENV, db.jdbcUrl());
    builder.environment().put(DatabaseSettings.USER_ENV, db.user());
    builder.environment().put(DatabaseSettings.PASSWORD_ENV, db.password());
    Process process = builder.start();
    processes.add(process);
    return process;
  }

  /** Waits until {@code process} has printed {@code line}; fails at once if it has exited. */
  static void awaitLine(Process process, Path output, String line, Duration deadline) {
    Eventually.until(
        "'" + line + "' from the node JVM (see " + output + ")",
        deadline,
        () -> {
          if (!process.isAlive()) {
            throw new AssertionError(
                "node JVM exited with " + process.exitValue() + "; see " + output);
          }
          return lines(output).contains(line);
        });
  }

  /** The HTTP port a {@link CrashTestNode} printed ({@code HTTP <port>}). */
  static int httpPort(Path output) {
    return lines(output).stream()
        .filter(l -> l.startsWith("HTTP "))
        .map(l -> Integer.parseInt(l.substring(5).trim()))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no HTTP port in " + output));
  }

  private static List<String> lines(Path output) {
    try {
      return Files.readAllLines(output);
    } catch (IOException e) {
      return List.of();
    }
  }

  @Override
  public void close() {
    processes.forEach(Process::destroyForcibly);
  }
}
