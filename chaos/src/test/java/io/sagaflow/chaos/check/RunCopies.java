package io.sagaflow.chaos.check;

import io.sagaflow.persistence.EmbeddedDatabase;
import io.sagaflow.persistence.testing.TestDatabase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/** Copies of a finished run (its files and its database) for a test to break one way. */
final class RunCopies {
  private static final AtomicInteger counter = new AtomicInteger();

  private RunCopies() {}

  /** A copy of {@code db}, which nobody may be connected to. */
  static TestDatabase database(TestDatabase db) {
    EmbeddedDatabase server = TestDatabase.server();
    String name = db.name() + "_copy_" + counter.incrementAndGet();
    try (Connection c =
            DriverManager.getConnection(server.jdbcUrl(), server.user(), server.password());
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name + " TEMPLATE " + db.name());
    } catch (SQLException e) {
      throw new IllegalStateException("could not copy " + db.name(), e);
    }
    return new TestDatabase(name, server.jdbcUrl(name), server.user(), server.password());
  }

  /** Copies the run's jsonl files into {@code to}. */
  static Path files(Path from, Path to) {
    try {
      Files.createDirectories(to);
      for (String f : List.of(CheckInputs.HISTORY, CheckInputs.LEDGER, CheckInputs.FAULTS)) {
        Files.copy(from.resolve(f), to.resolve(f));
      }
      return to;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Drops the lines of {@code file} that match {@code drop}; how many it dropped. */
  static int dropLines(Path file, Predicate<String> drop) {
    try {
      List<String> lines = Files.readAllLines(file);
      List<String> kept = lines.stream().filter(drop.negate()).toList();
      Files.write(file, kept);
      return lines.size() - kept.size();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static CheckReport check(Path dir, TestDatabase db) {
    return Checker.check(new CheckInputs(dir, db.jdbcUrl(), db.user(), db.password()));
  }
}
