package io.sagaflow.persistence;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.concurrent.CountDownLatch;

/**
 * Child JVM for {@link EmbeddedDatabaseIT}: starts an embedded PostgreSQL on the directory given as
 * first argument, writes a row, prints {@code READY <postgres pid> <port>} and waits to be killed,
 * so that its server is orphaned like after a crash.
 */
public final class OrphaningChild {

  /** Prefix of the line announcing that the server runs and the row is committed. */
  public static final String READY = "READY ";

  private OrphaningChild() {}

  public static void main(String[] args) throws Exception {
    EmbeddedDatabase db = EmbeddedDatabase.start(Path.of(args[0]));
    try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
        Statement s = c.createStatement()) {
      s.execute("CREATE TABLE survivor (note text)");
      s.execute("INSERT INTO survivor VALUES ('written before kill -9')");
    }
    // The parent reads this from our stdout; a logger could be configured away.
    System.out.println(READY + db.serverPid() + " " + db.port());
    System.out.flush();
    new CountDownLatch(1).await();
  }
}
