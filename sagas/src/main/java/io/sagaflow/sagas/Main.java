package io.sagaflow.sagas;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.node.SagaflowNode;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.internal.ParticipantDirectory;
import io.sagaflow.persistence.EmbeddedDatabase;
import io.sagaflow.sagas.demo.DemoParticipants;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import sun.misc.Signal;

/**
 * Runs a Sagaflow node with the example sagas. When none of their participants has a URL
 * configured, it first starts the demo participants in this process and points the sagas at them,
 * so that it runs with no configuration at all. On SIGTERM or SIGINT (Ctrl+C) it stops gracefully
 * (leaves the cluster, hands its sagas over, stops the database) and exits 0.
 */
public final class Main {

  private static final Logger log = LoggerFactory.getLogger(Main.class);

  private Main() {}

  private static final String USAGE =
      String.join(
          "\n",
          "usage: java -jar sagaflow.jar [command]",
          "  node          (default) a Sagaflow node with the example sagas; demo participants too",
          "                when no participant URL is configured",
          "  postgres      only the embedded PostgreSQL, for a cluster of nodes on one machine",
          "                (-Dsagaflow.db.embedded.port, -Dsagaflow.db.embedded.data-dir)",
          "  participants  only the demo participants (SAGAFLOW_DEMO_PORT)");

  public static void main(String[] args) {
    ScalaConsole.intoLog();
    String command = args.length == 0 ? "node" : args[0];
    switch (command) {
      case "node" -> runNode();
      case "postgres" -> runPostgres();
      case "participants" -> runParticipants();
      case "help", "--help", "-h" -> System.out.println(USAGE);
      default -> {
        System.err.println("unknown command '" + command + "'\n" + USAGE);
        System.exit(2);
      }
    }
  }

  private static void runPostgres() {
    Config config = SagaflowNode.config(ConfigFactory.empty());
    EmbeddedDatabase database;
    try {
      database = EmbeddedDatabase.start(EmbeddedDatabase.Settings.fromConfig(config));
    } catch (RuntimeException e) {
      log.error("PostgreSQL could not start: {}", e.getMessage(), e);
      System.exit(1);
      return;
    }
    log.info("PostgreSQL ready: {} (user {})", database.jdbcUrl(), database.user());
    runUntilSignalled(new Running(List.of(database)));
  }

  private static void runParticipants() {
    Config settings = SagaflowNode.config(ConfigFactory.empty()).getConfig("sagaflow.demo");
    var demo = DemoParticipants.start(settings.getString("host"), settings.getInt("port"));
    log.info(
        "Demo participants ready: {}",
        demo.participantConfig().root().render(com.typesafe.config.ConfigRenderOptions.concise()));
    runUntilSignalled(new Running(List.of(demo)));
  }

  private static void runUntilSignalled(Running running) {
    stopOnSignals(running);
    Runtime.getRuntime().addShutdownHook(new Thread(running::stop, "sagaflow-shutdown"));
    running.awaitStopped();
    System.exit(0);
  }

  private static void runNode() {
    Config overrides = ConfigFactory.empty();
    Config config = SagaflowNode.config(overrides);
    Map<String, String> env = System.getenv();
    List<SagaDefinition<?>> sagas = ExampleSagas.all();
    DemoParticipants demo = null;
    SagaflowNode node;
    try {
      if (!anyParticipantConfigured(config, env, ExampleSagas.participants(sagas))) {
        Config settings = config.getConfig("sagaflow.demo");
        demo = DemoParticipants.start(settings.getString("host"), settings.getInt("port"));
        log.info("No participant URLs configured: demo mode, the sagas call the demo participants");
        overrides = demo.participantConfig();
        config = SagaflowNode.config(overrides);
      }
      node = SagaflowNode.start(overrides, env, sagas);
    } catch (RuntimeException e) {
      log.error("Sagaflow could not start: {}", e.getMessage(), e);
      if (demo != null) {
        demo.close();
      }
      System.exit(1);
      return;
    }
    var running = new Running(demo == null ? List.of(node) : List.of(node, demo));
    stopOnSignals(running);
    // Any other way out of the JVM (System.exit, SIGHUP) still stops the node, less tidily.
    Runtime.getRuntime().addShutdownHook(new Thread(running::stop, "sagaflow-shutdown"));
    log.info(
        "Sagaflow running with sagas {}; participants: {}",
        sagas.stream().map(s -> s.name() + " v" + s.version()).toList(),
        describeParticipants(config, env, ExampleSagas.participants(sagas)));

    node.system().getWhenTerminated().toCompletableFuture().join();
    Optional<CoordinatedShutdown.Reason> reason =
        CoordinatedShutdown.get(node.system()).getShutdownReason();
    boolean byJvmExit = reason.equals(Optional.of(CoordinatedShutdown.jvmExitReason()));
    if (!byJvmExit && running.stop()) {
      // Nobody asked the node to stop (e.g. the cluster downed it): exit so it gets restarted.
      log.error("The actor system terminated unexpectedly ({}); exiting", reason.orElse(null));
      System.exit(1);
    }
    // Stopped on request: wait until the database is down too, then exit with success.
    running.awaitStopped();
    System.exit(0);
  }

  /**
   * Stops the node on SIGTERM ({@code docker stop}, Kubernetes) and SIGINT (Ctrl+C) before the JVM
   * begins to exit, so that the process exits 0 after a clean stop. A shutdown hook cannot do this:
   * the JVM runs every hook at once, and embedded PostgreSQL's own hook would stop the database
   * while the node is still handing its sagas over and writing to the journal.
   */
  // sun.misc.Signal (module jdk.unsupported) is the JDK's only way to handle a signal; javac warns
  // that it is internal, which no annotation can silence.
  private static void stopOnSignals(Running running) {
    for (String name : List.of("TERM", "INT")) {
      try {
        // Each signal is handled on a new thread, which may block until the stop is done.
        Signal.handle(
            new Signal(name),
            signal -> {
              log.info("Received SIG{}", signal.getName());
              running.stop();
            });
      } catch (IllegalArgumentException e) {
        // The JVM reserves the signal (e.g. -Xrs): its shutdown hooks stop the node instead.
        log.warn("Cannot handle SIG{}: {}", name, e.getMessage());
      }
    }
  }

  /**
   * Whether any of {@code participants} has a URL, by the same rules as the node uses (environment
   * variable over config key).
   */
  static boolean anyParticipantConfigured(
      Config config, Map<String, String> env, Collection<String> participants) {
    var directory = new ParticipantDirectory(config, env);
    return participants.stream().anyMatch(name -> directory.baseUrl(name).isPresent());
  }

  private static String describeParticipants(
      Config config, Map<String, String> env, Collection<String> participants) {
    var directory = new ParticipantDirectory(config, env);
    return participants.stream()
        .map(name -> name + "=" + directory.require(name))
        .collect(Collectors.joining(", "));
  }

  /** Stops what runs (the node first, then the demo participants), once, whoever asks first. */
  private static final class Running {
    private final List<AutoCloseable> parts;
    private final AtomicBoolean stopped = new AtomicBoolean();
    private final CountDownLatch done = new CountDownLatch(1);

    Running(List<AutoCloseable> parts) {
      this.parts = parts;
    }

    /** Returns whether this call did the stopping; returns when the stop is done either way. */
    boolean stop() {
      if (!stopped.compareAndSet(false, true)) {
        awaitStopped();
        return false;
      }
      try {
        log.info("Stopping");
        for (AutoCloseable part : parts) {
          try {
            part.close();
          } catch (Exception e) {
            log.error("Stopping {} failed", part, e);
          }
        }
        log.info("Stopped");
      } finally {
        done.countDown();
      }
      return true;
    }

    void awaitStopped() {
      boolean interrupted = false;
      while (true) {
        try {
          done.await();
          break;
        } catch (InterruptedException e) {
          interrupted = true;
        }
      }
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
