package io.sagaflow.persistence.testing;

import com.typesafe.config.Config;
import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.EmbeddedDatabase;
import io.sagaflow.persistence.JournalConfig;
import io.sagaflow.persistence.Migrations;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A brand-new, migrated PostgreSQL database for one test, on an embedded server shared by the whole
 * JVM.
 *
 * <p>The server starts on first use, keeps its data in a fresh directory under the system temp
 * directory and is stopped (and its directory deleted) by a shutdown hook. It runs with fsync off.
 * {@link #fresh()} may be called from any thread.
 */
public record TestDatabase(String name, String jdbcUrl, String user, String password) {

  private static final Logger log = LoggerFactory.getLogger(TestDatabase.class);
  private static final AtomicInteger counter = new AtomicInteger();

  /** Creates {@code sagaflow_test_N} on the shared server and applies all migrations to it. */
  public static TestDatabase fresh() {
    EmbeddedDatabase server = Server.INSTANCE;
    String name = "sagaflow_test_" + counter.incrementAndGet();
    try (Connection c =
            DriverManager.getConnection(server.jdbcUrl(), server.user(), server.password());
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    } catch (SQLException e) {
      throw new IllegalStateException("Could not create database " + name, e);
    }
    TestDatabase database =
        new TestDatabase(name, server.jdbcUrl(name), server.user(), server.password());
    Migrations.migrate(database.jdbcUrl(), database.user(), database.password());
    return database;
  }

  /** The embedded server behind every {@link TestDatabase} of this JVM, started if need be. */
  public static EmbeddedDatabase server() {
    return Server.INSTANCE;
  }

  public DatabaseSettings settings() {
    return new DatabaseSettings(jdbcUrl, user, password);
  }

  /** {@link JournalConfig#forDatabase} for this database: put it in front of a test's config. */
  public Config journalConfig() {
    return JournalConfig.forDatabase(settings());
  }

  /** A new connection (auto-commit) to this database; the caller closes it. */
  public Connection connect() throws SQLException {
    return DriverManager.getConnection(jdbcUrl, user, password);
  }

  /** The number in the first column of the single row {@code sql} returns, e.g. a count(*). */
  public long count(String sql) {
    String value = scalar(sql);
    if (value == null) {
      throw new IllegalStateException("NULL from: " + sql);
    }
    return Long.parseLong(value);
  }

  /** The first column of the first row {@code sql} returns, as text; null for SQL NULL. */
  public String scalar(String sql) {
    try (Connection c = connect();
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      if (!rs.next()) {
        throw new IllegalStateException("No row from: " + sql);
      }
      return rs.getString(1);
    } catch (SQLException e) {
      throw new IllegalStateException("Failed: " + sql, e);
    }
  }

  /** Runs a statement that returns no rows; the number of rows it changed. */
  public int execute(String sql) {
    try (Connection c = connect();
        Statement s = c.createStatement()) {
      return s.executeUpdate(sql);
    } catch (SQLException e) {
      throw new IllegalStateException("Failed: " + sql, e);
    }
  }

  // Holder idiom: the JVM initialises the server once, lazily and thread-safely.
  private static final class Server {
    static final EmbeddedDatabase INSTANCE = start();

    private static EmbeddedDatabase start() {
      Path root;
      try {
        root = Files.createTempDirectory("sagaflow-test-pg-");
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
      EmbeddedDatabase server =
          EmbeddedDatabase.start(new EmbeddedDatabase.Settings(root.resolve("postgres"), 0, false));
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    server.close();
                    EmbeddedDatabase.deleteDirectory(root);
                  },
                  "sagaflow-test-database-stop"));
      return server;
    }
  }
}
