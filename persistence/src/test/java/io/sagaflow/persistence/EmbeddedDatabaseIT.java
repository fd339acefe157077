package io.sagaflow.persistence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.zonky.test.db.postgres.util.LinuxUtils;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedDatabaseIT {

  @TempDir Path temp;

  @Test
  void dataSurvivesCloseAndRestart() throws SQLException {
    Path dir = temp.resolve("postgres");
    long firstPid;
    try (EmbeddedDatabase db = EmbeddedDatabase.start(dir)) {
      firstPid = db.serverPid();
      assertThat(firstPid).isPositive();
      execute(db, "CREATE TABLE kept (note text)");
      execute(db, "INSERT INTO kept VALUES ('before restart')");
      assertThat(query(db, "SHOW fsync")).isEqualTo("on");
      assertThat(query(db, "SHOW synchronous_commit")).isEqualTo("on");
    }
    assertThat(running(firstPid)).as("server stopped").isFalse();
    assertThat(dir.resolve("postmaster.pid")).doesNotExist();

    try (EmbeddedDatabase db = EmbeddedDatabase.start(dir)) {
      assertThat(query(db, "SELECT note FROM kept")).isEqualTo("before restart");
    }
  }

  @Test
  void stopsTheServerOfAKilledJvmAndKeepsItsData() throws Exception {
    Path dir = temp.resolve("postgres");
    Path childLog = temp.resolve("child.log");
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process child =
        new ProcessBuilder(
                java,
                "-cp",
                System.getProperty("java.class.path"),
                OrphaningChild.class.getName(),
                dir.toString())
            .redirectErrorStream(true)
            .redirectOutput(childLog.toFile())
            .start();
    long orphanPid = -1;
    try {
      String ready =
          await(
              () -> readyLine(childLog),
              Duration.ofSeconds(60),
              () -> "child never became ready; its output:\n" + readQuietly(childLog),
              child);
      orphanPid = Long.parseLong(ready.split(" ")[1]);

      child.destroyForcibly();
      assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
      assertThat(running(orphanPid)).as("PostgreSQL outlives the killed JVM").isTrue();
      assertThat(dir.resolve("postmaster.pid")).exists();

      try (EmbeddedDatabase db = EmbeddedDatabase.start(dir)) {
        assertThat(db.serverPid()).isNotEqualTo(orphanPid);
        assertThat(running(orphanPid)).as("orphan stopped").isFalse();
        assertThat(query(db, "SELECT note FROM survivor")).isEqualTo("written before kill -9");
      }
    } finally {
      child.destroyForcibly();
      if (orphanPid > 0) {
        // Only when the test failed half-way: do not leave our server running.
        ProcessHandle.of(orphanPid).ifPresent(ProcessHandle::destroy);
      }
    }
  }

  @Test
  void refusesADataDirectoryThatALiveInstanceUses() throws SQLException {
    Path dir = temp.resolve("postgres");
    try (EmbeddedDatabase db = EmbeddedDatabase.start(dir)) {
      assertThatThrownBy(() -> EmbeddedDatabase.start(dir))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("in use");

      assertThat(query(db, "SELECT 'still serving'")).isEqualTo("still serving");
    }
  }

  @Test
  void startsDespiteAStalePidFile() throws Exception {
    Path dir = temp.resolve("postgres");
    EmbeddedDatabase.start(dir).close();
    Path pidFile = dir.resolve("postmaster.pid");

    Process finished = new ProcessBuilder("true").start();
    assertThat(finished.waitFor(10, TimeUnit.SECONDS)).isTrue();
    Files.writeString(pidFile, finished.pid() + "\n" + dir + "\n");
    try (EmbeddedDatabase db = EmbeddedDatabase.start(dir)) {
      assertThat(query(db, "SELECT 1")).isEqualTo("1");
    }

    // As after a reboot, when the recorded pid now belongs to another program (here: this JVM).
    Files.writeString(pidFile, ProcessHandle.current().pid() + "\n" + dir + "\n");
    try (EmbeddedDatabase db = EmbeddedDatabase.start(dir)) {
      assertThat(query(db, "SELECT 1")).isEqualTo("1");
    }
    assertThat(ProcessHandle.current().isAlive()).isTrue();
  }

  @Test
  void explainsADataDirectoryHandedToNobody() throws IOException {
    Assumptions.assumeTrue(LinuxUtils.isUnshareAvailable(), "only as root with unshare");
    Path dir = Files.createDirectories(temp.resolve("postgres"));
    UserPrincipal nobody =
        dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("nobody");
    Files.setOwner(dir, nobody);

    assertThatThrownBy(() -> EmbeddedDatabase.start(dir))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("Do not chown it to nobody");
  }

  private static void execute(EmbeddedDatabase db, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
        Statement s = c.createStatement()) {
      s.execute(sql);
    }
  }

  private static String query(EmbeddedDatabase db, String sql) throws SQLException {
    try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
        Statement s = c.createStatement();
        ResultSet rs = s.executeQuery(sql)) {
      assertThat(rs.next()).isTrue();
      return rs.getString(1);
    }
  }

  /**
   * Alive and not a zombie: a stopped server stays a zombie until PID 1 reaps it, and {@link
   * ProcessHandle#isAlive()} counts zombies as alive.
   */
  private static boolean running(long pid) {
    Optional<ProcessHandle> process = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
    if (process.isEmpty()) {
      return false;
    }
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
    } catch (IOException e) {
      return process.get().isAlive();
    }
  }

  private static Optional<String> readyLine(Path log) {
    List<String> lines;
    try {
      lines = Files.readAllLines(log);
    } catch (IOException e) {
      return Optional.empty();
    }
    return lines.stream().filter(l -> l.startsWith(OrphaningChild.READY)).findFirst();
  }

  private static String readQuietly(Path log) {
    try {
      return Files.readString(log);
    } catch (IOException e) {
      return e.toString();
    }
  }

  /** Polls until {@code value} is present; fails early when {@code child} dies. */
  private static <T> T await(
      Supplier<Optional<T>> value, Duration timeout, Supplier<String> failure, Process child)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() - deadline < 0) {
      Optional<T> v = value.get();
      if (v.isPresent()) {
        return v.get();
      }
      if (!child.isAlive()) {
        break;
      }
      Thread.sleep(50);
    }
    return value.get().orElseThrow(() -> new AssertionError(failure.get()));
  }
}
