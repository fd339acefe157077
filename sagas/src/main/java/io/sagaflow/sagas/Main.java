package io.sagaflow.sagas;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.node.SagaflowNode;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.internal.ParticipantDirectory;
import io.sagaflow.sagas.demo.DemoParticipants;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a Sagaflow node with the example sagas. When none of their participants has a URL
 * configured, it first starts the demo participants in this process and points the sagas at them,
 * so that it runs with no configuration at all. Stops gracefully on SIGTERM.
 */
public final class Main {

  private static final Logger log = LoggerFactory.getLogger(Main.class);

  private Main() {}

  public static void main(String[] args) {
    Config config = ConfigFactory.load();
    Map<String, String> env = System.getenv();
    List<SagaDefinition> sagas = ExampleSagas.all();
    DemoParticipants demo = null;
    SagaflowNode node;
    try {
      if (!anyParticipantConfigured(config, env, ExampleSagas.participants(sagas))) {
        Config settings = config.getConfig("sagaflow.demo");
        demo = DemoParticipants.start(settings.getString("host"), settings.getInt("port"));
        log.info("No participant URLs configured: demo mode, the sagas call the demo participants");
        config = demo.participantConfig().withFallback(config);
      }
      node = SagaflowNode.start(config, env, sagas);
    } catch (RuntimeException e) {
      log.error("Sagaflow could not start: {}", e.getMessage(), e);
      if (demo != null) {
        demo.close();
      }
      System.exit(1);
      return;
    }
    var running = new Running(node, demo);
    Runtime.getRuntime().addShutdownHook(new Thread(running::stop, "sagaflow-shutdown"));
    log.info(
        "Sagaflow running with sagas {}; participants: {}",
        sagas.stream().map(s -> s.name() + " v" + s.version()).toList(),
        describeParticipants(config, env, ExampleSagas.participants(sagas)));

    node.system().getWhenTerminated().toCompletableFuture().join();
    Optional<CoordinatedShutdown.Reason> reason =
        CoordinatedShutdown.get(node.system()).getShutdownReason();
    boolean bySignal = reason.equals(Optional.of(CoordinatedShutdown.jvmExitReason()));
    if (!bySignal && running.stop()) {
      // Nobody asked the node to stop (e.g. the cluster downed it): exit so it gets restarted.
      log.error("The actor system terminated unexpectedly ({}); exiting", reason.orElse(null));
      System.exit(1);
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

  /** Stops the node, then the demo participants, once, whoever asks first. */
  private static final class Running {
    private final SagaflowNode node;
    private final DemoParticipants demo;
    private final AtomicBoolean stopped = new AtomicBoolean();

    Running(SagaflowNode node, DemoParticipants demo) {
      this.node = node;
      this.demo = demo;
    }

    /** Returns whether this call did the stopping. */
    boolean stop() {
      if (!stopped.compareAndSet(false, true)) {
        return false;
      }
      log.info("Stopping: leaving the cluster, handing shards over");
      node.close();
      if (demo != null) {
        demo.close();
      }
      log.info("Stopped");
      return true;
    }
  }
}
