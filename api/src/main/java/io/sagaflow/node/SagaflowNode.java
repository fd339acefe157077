package io.sagaflow.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.zaxxer.hikari.HikariDataSource;
import io.sagaflow.api.ApiSettings;
import io.sagaflow.api.EventStreamSettings;
import io.sagaflow.api.SagaReads;
import io.sagaflow.api.SagaRoutes;
import io.sagaflow.api.UrlAllowList;
import io.sagaflow.api.WebhookSender;
import io.sagaflow.orchestrator.SagaEngine;
import io.sagaflow.orchestrator.SagaRegistry;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepAction;
import io.sagaflow.orchestrator.internal.HttpParticipantClient;
import io.sagaflow.orchestrator.internal.ParticipantDirectory;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry;
import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.EmbeddedDatabase;
import io.sagaflow.persistence.JournalConfig;
import io.sagaflow.persistence.JournalHealth;
import io.sagaflow.persistence.Migrations;
import io.sagaflow.persistence.events.LifecycleEvents;
import io.sagaflow.persistence.index.IndexPools;
import io.sagaflow.persistence.index.SagaIndex;
import io.sagaflow.persistence.index.SagaIndexProjection;
import io.sagaflow.persistence.index.SagaIndexSettings;
import io.sagaflow.persistence.timer.SagaTimers;
import io.sagaflow.persistence.webhooks.WebhookSettings;
import io.sagaflow.persistence.webhooks.Webhooks;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.cluster.typed.SelfUp;
import org.apache.pekko.cluster.typed.Subscribe;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.ServerBinding;
import org.apache.pekko.management.cluster.bootstrap.ClusterBootstrap;
import org.apache.pekko.management.javadsl.PekkoManagement;
import org.apache.pekko.serialization.SerializationExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One Sagaflow node, wired in one place: database (embedded or external), schema migrations, the
 * actor system and cluster membership, and the saga engine. Tests, the API and the runnable all
 * start nodes through {@link #start}.
 */
public final class SagaflowNode implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(SagaflowNode.class);

  private final EmbeddedDatabase embedded;
  private final DatabaseSettings database;
  private final ActorSystem<Void> system;
  private final SagaEngine engine;
  private final HikariDataSource readPool;
  private final int httpPort;
  private final Duration shutdownTimeout;
  private final NodeTracing tracing;
  private final SagaTimers timers;

  private SagaflowNode(
      EmbeddedDatabase embedded,
      DatabaseSettings database,
      ActorSystem<Void> system,
      SagaEngine engine,
      HikariDataSource readPool,
      int httpPort,
      Duration shutdownTimeout,
      NodeTracing tracing,
      SagaTimers timers) {
    this.embedded = embedded;
    this.database = database;
    this.system = system;
    this.engine = engine;
    this.readPool = readPool;
    this.httpPort = httpPort;
    this.shutdownTimeout = shutdownTimeout;
    this.tracing = tracing;
    this.timers = timers;
  }

  /** Starts a node with this process's environment variables. */
  public static SagaflowNode start(
      Config overrides, Collection<? extends SagaDefinition<?>> definitions) {
    return start(overrides, System.getenv(), definitions);
  }

  /**
   * The configuration a node runs with: system properties, then {@code overrides}, then {@code
   * application.conf}, then Sagaflow's Pekko settings ({@code sagaflow-node.conf}), then every
   * library's {@code reference.conf}.
   *
   * @param overrides settings from code (tests, the runnable); not a loaded config, whose Pekko
   *     defaults would hide Sagaflow's
   */
  public static Config config(Config overrides) {
    ClassLoader loader = SagaflowNode.class.getClassLoader();
    Config withoutContactPoints =
        ConfigFactory.defaultOverrides(loader)
            .withFallback(overrides)
            .withFallback(ConfigFactory.defaultApplication(loader))
            .withFallback(ConfigFactory.parseResources(loader, "sagaflow-node.conf"))
            .withFallback(ConfigFactory.defaultReference(loader))
            .resolve();
    return contactPoints(withoutContactPoints)
        .withFallback(discoveryMethod(withoutContactPoints))
        .withFallback(withoutContactPoints);
  }

  /** The formation picks Cluster Bootstrap's discovery (unless set explicitly). */
  private static Config discoveryMethod(Config config) {
    String key = "pekko.management.cluster.bootstrap.contact-point-discovery.discovery-method";
    String method =
        switch (config.getString("sagaflow.cluster.formation")) {
          case "config" -> "config";
          case "kubernetes" -> "kubernetes-api";
          default -> null;
        };
    boolean explicit = config.hasPath(key) && !config.getString(key).equals("pekko.discovery");
    return method == null || explicit
        ? ConfigFactory.empty()
        : ConfigFactory.parseMap(Map.of(key, method));
  }

  /** formation = config: the listed management endpoints become the discovery's static list. */
  private static Config contactPoints(Config config) {
    String listed = config.getString("sagaflow.cluster.contact-points").trim();
    if (listed.isEmpty()) {
      return ConfigFactory.empty();
    }
    var endpoints = new ArrayList<Map<String, Object>>();
    for (String point : listed.split(",")) {
      String[] hostPort = point.trim().split(":");
      if (hostPort.length != 2 || !hostPort[1].matches("\\d{1,5}")) {
        throw new IllegalArgumentException(
            "sagaflow.cluster.contact-points (SAGAFLOW_CLUSTER_CONTACT_POINTS) must be host:port,"
                + " comma-separated; got '"
                + point
                + "'");
      }
      endpoints.add(Map.of("host", hostPort[0], "port", Integer.parseInt(hostPort[1])));
    }
    String service =
        config.getString("pekko.management.cluster.bootstrap.contact-point-discovery.service-name");
    return ConfigFactory.parseMap(
        Map.of("pekko.discovery.config.services." + service + ".endpoints", endpoints));
  }

  /**
   * Starts a node: the database first (an embedded PostgreSQL when no {@code SAGAFLOW_DB_URL} or
   * {@code sagaflow.db.url} is set), then migrations, the actor system, cluster membership, the
   * engine, the saga index and the HTTP API. Returns once the node can host sagas.
   *
   * @param overrides settings over application.conf; see {@link #config(Config)}
   * @param env environment variables (database and participant URLs, {@code OTEL_*} for traces)
   * @throws IllegalArgumentException when a definition calls a participant with no URL configured
   */
  public static SagaflowNode start(
      Config overrides,
      Map<String, String> env,
      Collection<? extends SagaDefinition<?>> definitions) {
    Config config = config(overrides);
    SagaRegistry registry = SagaRegistry.of(definitions);
    var participants = new ParticipantDirectory(config, env);
    requireParticipantUrls(registry, participants);

    DatabaseSettings database = DatabaseSettings.fromEnvironment(env, config);
    NodeTracing tracing = NodeTracing.fromEnvironment(env);
    EmbeddedDatabase embedded = null;
    ActorSystem<Void> system = null;
    HikariDataSource readPool = null;
    SagaTimers timers = null;
    try {
      if (database.isEmbedded()) {
        embedded = EmbeddedDatabase.start(EmbeddedDatabase.Settings.fromConfig(config));
        database = embedded.settings();
      }
      int applied = Migrations.migrate(database);
      log.info("Database {} ready ({} migrations applied)", database, applied);

      Config nodeConfig = config.getConfig("sagaflow.node");
      system =
          ActorSystem.create(
              Behaviors.empty(),
              "sagaflow",
              JournalConfig.forDatabase(database, config).withFallback(config));
      tracing.closeOnShutdown(system);
      // First, so that every meter of the node, from the lease's pool on, reaches /metrics.
      var metrics = PrometheusMetrics.start(system);
      // Before anything can call a participant or write an event: the fence stays shut until
      // the lease is held.
      NodeLease.start(
          system,
          database,
          NodeLease.Settings.fromConfig(config),
          nodeConfig.getDuration("startup-timeout"));
      readPool =
          IndexPools.forReads(database, SagaIndexSettings.fromConfig(config), metrics.registry());
      Config timerConfig = config.getConfig("sagaflow.timers");
      timers =
          SagaTimers.open(
              database,
              timerConfig.getInt("connections"),
              timerConfig.getDuration("connection-timeout"),
              metrics.registry());
      JournalProbe.start(
          system,
          new JournalProbe.Settings(
              nodeConfig.getDuration("journal-probe-interval"),
              nodeConfig.getDuration("journal-probe-timeout")));
      var client =
          new HttpParticipantClient(
              system,
              participants,
              config.getBytes("sagaflow.participant-client.max-response-bytes"));
      // Sharding starts before the node joins: once it is Up, the shard coordinator writes its
      // state to every member (a majority of fewer than five is all of them), and a member whose
      // sharding is not running yet held each write up for updating-state-timeout (5 s), seen
      // in the chaos run as failovers of 13-18 s when a killed node's new incarnation had just
      // joined.
      SagaEngine engine =
          SagaEngine.init(
              system,
              registry,
              client,
              SagaTelemetry.of(
                  Stream.concat(tracing.telemetry().stream(), Stream.of(metrics.sagas(registry)))
                      .toList()),
              timers);
      SagaIndexProjection.init(system, database);
      var blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
      EventStreamSettings eventSettings = EventStreamSettings.fromConfig(config);
      var lifecycleEvents =
          new LifecycleEvents(
              system,
              readPool,
              SagaEngine.objectMapper(system),
              blocking,
              eventSettings.sagaTypeCacheSize());
      UrlAllowList allowList = UrlAllowList.fromConfig(config, env);
      WebhookSettings webhookSettings = WebhookSettings.fromConfig(config);
      Webhooks webhooks =
          Webhooks.start(
              system,
              database,
              webhookSettings,
              lifecycleEvents,
              new WebhookSender(
                  SagaEngine.objectMapper(system), allowList, webhookSettings.requestTimeout()),
              metrics.registry(),
              config.getDuration("sagaflow.metrics.index-refresh-interval"));
      joinCluster(system, config.getString("sagaflow.cluster.formation"));
      awaitUp(system, nodeConfig.getDuration("startup-timeout"));
      var cluster = Cluster.get(system);

      var index = new SagaIndex(readPool);
      ApiSettings api = ApiSettings.fromConfig(config, env);
      var routes =
          new SagaRoutes(
              engine,
              registry,
              index,
              new SagaReads(readPool, SerializationExtension.get(system), registry),
              api,
              JournalHealth.get(Adapter.toClassic(system))::retryAfter,
              SagaEngine.objectMapper(system),
              blocking,
              metrics::scrape,
              lifecycleEvents,
              eventSettings,
              webhooks.store(),
              allowList,
              metrics.registry());
      ServerBinding binding =
          Http.get(system)
              .newServerAt(api.host(), api.port())
              .bind(metrics.measured(routes.routes()))
              .toCompletableFuture()
              .get(30, TimeUnit.SECONDS);
      // On SIGTERM or close(): end the event streams (which never finish by themselves) first,
      // so that their last chunk is out before the connections close, then stop accepting, let
      // requests in flight finish, and leave.
      binding.addToCoordinatedShutdown(Duration.ofSeconds(10), system);
      CoordinatedShutdown.get(system)
          .addTask(
              CoordinatedShutdown.PhaseBeforeServiceUnbind(),
              "sagaflow-end-event-streams",
              routes::endEventStreams);
      NodeReadiness.get(system).httpBound(true);
      // Participant pools close once sagas are handed over, just before the actor system ends;
      // pools still open then are torn down with a "shut down unexpectedly" error.
      ActorSystem<Void> owner = system;
      CoordinatedShutdown.get(system)
          .addTask(
              CoordinatedShutdown.PhaseBeforeActorSystemTerminate(),
              "sagaflow-close-participant-pools",
              () -> Http.get(owner).shutdownAllConnectionPools().thenApply(unused -> Done.done()));
      Config recovery = config.getConfig("sagaflow.recovery");
      RecoverySweep.start(
          system,
          engine,
          index,
          new RecoverySweep.Settings(
              recovery.getDuration("sweep-interval"),
              recovery.getDuration("catch-up-timeout"),
              SagaIndexProjection.offsetTable(system.settings().config())));
      TimerPoller.start(
          system,
          engine,
          timers,
          new TimerPoller.Settings(
              timerConfig.getDuration("poll-interval"),
              timerConfig.getDuration("look-ahead"),
              timerConfig.getInt("batch-size"),
              timerConfig.getInt("max-wakes-in-flight")),
          config.getDuration("sagaflow.metrics.index-refresh-interval"));
      GaugeRefresher.start(
          system,
          metrics.registry(),
          index,
          SagaIndexProjection.offsetTable(system.settings().config()),
          engine,
          registry.types(),
          config.getDuration("sagaflow.metrics.index-refresh-interval"));
      logListening(binding.localAddress(), api);
      log.info(
          "Sagaflow node {} up with saga types {}",
          cluster.selfMember().address(),
          registry.types());
      return new SagaflowNode(
          embedded,
          database,
          system,
          engine,
          readPool,
          binding.localAddress().getPort(),
          nodeConfig.getDuration("shutdown-timeout"),
          tracing,
          timers);
    } catch (Exception e) {
      if (system != null) {
        system.terminate();
        awaitTermination(system, Duration.ofSeconds(30));
      } else {
        tracing.close();
      }
      if (readPool != null) {
        readPool.close();
      }
      if (timers != null) {
        timers.close();
      }
      if (embedded != null) {
        embedded.close();
      }
      if (e instanceof RuntimeException runtime) {
        throw runtime;
      }
      throw new IllegalStateException("node did not start: " + e.getMessage(), e);
    }
  }

  /**
   * An API open to anyone who can reach it is said loudly: without tokens, whoever reaches a
   * non-loopback address can start, cancel and retry sagas.
   */
  private static void logListening(InetSocketAddress address, ApiSettings api) {
    if (api.authRequired() || address.getAddress().isLoopbackAddress()) {
      log.info("HTTP API listening on {} ({})", address, api);
    } else {
      // The host as configured: the JVM shows a wildcard bind as [0:0:0:0:0:0:0:0].
      log.warn(
          "HTTP API listening on {}:{}{} WITHOUT AUTHENTICATION: anyone who can reach it can start,"
              + " cancel and retry sagas. Set API tokens with SAGAFLOW_API_TOKENS (or"
              + " sagaflow.http.tokens), or bind loopback with SAGAFLOW_HTTP_HOST=127.0.0.1",
          api.host(),
          address.getPort(),
          address.getAddress().isAnyLocalAddress() ? " (every interface)" : "");
    }
  }

  private static void requireParticipantUrls(
      SagaRegistry registry, ParticipantDirectory participants) {
    var missing = new ArrayList<String>();
    for (SagaDefinition<?> definition : registry.all()) {
      for (Step step : definition.steps()) {
        List<StepAction<?>> actions = new ArrayList<>();
        actions.add(step.action());
        step.compensation().ifPresent(actions::add);
        for (StepAction<?> action : actions) {
          if (action instanceof HttpCall<?> http
              && participants.baseUrl(http.participant()).isEmpty()) {
            missing.add(
                "saga '"
                    + definition.name()
                    + "' step '"
                    + step.name()
                    + "': "
                    + ParticipantDirectory.missingMessage(http.participant()));
          }
        }
      }
    }
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(
          "participants without a URL:\n  "
              + String.join("\n  ", missing.stream().distinct().toList()));
    }
  }

  /** Starts pekko-management (health, cluster routes) and forms or joins the cluster. */
  private static void joinCluster(ActorSystem<Void> system, String formation) {
    var classic = Adapter.toClassic(system);
    PekkoManagement.get(classic).start().toCompletableFuture().join();
    switch (formation) {
      case "self" -> {
        var cluster = Cluster.get(system);
        cluster.manager().tell(Join.create(cluster.selfMember().address()));
      }
      case "config", "kubernetes" -> ClusterBootstrap.get(classic).start();
      default ->
          throw new IllegalArgumentException(
              "sagaflow.cluster.formation (SAGAFLOW_CLUSTER_FORMATION) must be self, config or"
                  + " kubernetes; got '"
                  + formation
                  + "'");
    }
  }

  private static void awaitUp(ActorSystem<Void> system, Duration timeout) {
    var up = new CompletableFuture<Void>();
    var cluster = Cluster.get(system);
    if (cluster.selfMember().status() == MemberStatus.up()) {
      return;
    }
    var listener =
        system.systemActorOf(
            Behaviors.<SelfUp>receiveMessage(
                msg -> {
                  up.complete(null);
                  return Behaviors.stopped();
                }),
            "sagaflow-await-up",
            org.apache.pekko.actor.typed.Props.empty());
    cluster.subscriptions().tell(Subscribe.create(listener, SelfUp.class));
    try {
      up.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(
          "node did not join a cluster within "
              + timeout
              + " (seed nodes or bootstrap unreachable?)",
          e);
    }
  }

  /** Whether this node exports traces (an {@code OTEL_*} exporter is configured). */
  public boolean tracesExported() {
    return tracing.enabled();
  }

  public SagaEngine engine() {
    return engine;
  }

  /** The port the HTTP API is bound to. */
  public int httpPort() {
    return httpPort;
  }

  public ActorSystem<Void> system() {
    return system;
  }

  /** The database this node writes to (the embedded one's URL when embedded). */
  public DatabaseSettings database() {
    return database;
  }

  public Optional<EmbeddedDatabase> embeddedDatabase() {
    return Optional.ofNullable(embedded);
  }

  /**
   * Stops the node gracefully: coordinated shutdown hands shards over and leaves the cluster, then
   * the embedded database (if any) stops cleanly.
   */
  @Override
  public void close() {
    system.terminate();
    awaitTermination(system, shutdownTimeout);
    readPool.close();
    timers.close();
    if (embedded != null) {
      embedded.close();
    }
  }

  private static void awaitTermination(ActorSystem<Void> system, Duration timeout) {
    try {
      system
          .getWhenTerminated()
          .toCompletableFuture()
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      log.warn("Actor system did not terminate within {}", timeout, e);
    }
  }
}
