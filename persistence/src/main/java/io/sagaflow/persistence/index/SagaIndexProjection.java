package io.sagaflow.persistence.index;

import com.typesafe.config.Config;
import com.zaxxer.hikari.HikariDataSource;
import io.sagaflow.orchestrator.history.SagaHistory;
import io.sagaflow.orchestrator.telemetry.NodeMetrics;
import io.sagaflow.persistence.DatabaseSettings;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.apache.pekko.Done;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.cluster.sharding.typed.ShardedDaemonProcessSettings;
import org.apache.pekko.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.projection.ProjectionBehavior;
import org.apache.pekko.projection.ProjectionId;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.eventsourced.javadsl.EventSourcedProvider;
import org.apache.pekko.projection.javadsl.GroupedProjection;
import org.apache.pekko.projection.javadsl.SourceProvider;
import org.apache.pekko.projection.jdbc.javadsl.JdbcProjection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps {@code saga_index} up to date from the journal: one exactly-once JDBC projection per index
 * tag ({@link SagaHistory#INDEX_TAGS}), run as a sharded daemon process so that each tag runs on
 * exactly one node of the cluster. Events are applied in groups ({@code sagaflow.index.group-*}): a
 * group's row changes and the projection's offset are committed in one transaction.
 */
public final class SagaIndexProjection {

  /** The projection's name in the offset store; its keys are the tags. */
  public static final String PROJECTION_NAME = "saga-index";

  private static final Logger log = LoggerFactory.getLogger(SagaIndexProjection.class);
  private static final String DIALECT_PATH = "pekko.projection.jdbc.dialect";
  private static final String POSTGRES_DIALECT = "postgres-dialect";

  private SagaIndexProjection() {}

  /**
   * Starts the index projections; call once per actor system, when the node has joined the cluster.
   * First, when {@code sagaflow.index.rebuild-when-empty} is on and {@code saga_index} is empty but
   * offsets are stored, deletes the offsets so that the table is rebuilt from the whole journal.
   * The projection's connection pool closes when the actor system terminates.
   *
   * @param db the database holding the journal and the index (not embedded: pass the embedded
   *     server's settings)
   * @throws IllegalStateException when the database cannot be reached, or the configuration lacks
   *     the projection settings {@code JournalConfig.forDatabase} adds
   */
  public static void init(ActorSystem<?> system, DatabaseSettings db) {
    Config config = system.settings().config();
    if (!POSTGRES_DIALECT.equals(config.getString(DIALECT_PATH))) {
      // Otherwise each projection instance fails when it starts, on whichever node it lands.
      throw new IllegalStateException(
          DIALECT_PATH
              + " is not "
              + POSTGRES_DIALECT
              + ": build the actor system's configuration with JournalConfig.forDatabase");
    }
    SagaIndexSettings settings = SagaIndexSettings.fromConfig(config);
    HikariDataSource pool;
    try {
      pool =
          IndexPools.forProjection(
              db, settings, NodeMetrics.get(system.classicSystem()).registry());
    } catch (RuntimeException e) {
      throw new IllegalStateException("Could not connect the saga index projection to " + db, e);
    }
    system.getWhenTerminated().thenRun(pool::close);
    if (settings.rebuildWhenEmpty()) {
      try {
        rebuildIfEmptied(pool, offsetTable(config));
      } catch (SQLException e) {
        pool.close();
        throw new IllegalStateException("Could not check whether saga_index needs a rebuild", e);
      }
    }
    List<String> tags = SagaHistory.INDEX_TAGS;
    ShardedDaemonProcess.get(system)
        .init(
            ProjectionBehavior.Command.class,
            PROJECTION_NAME,
            tags.size(),
            i -> behavior(system, pool, settings, tags.get(i)),
            ShardedDaemonProcessSettings.create(system),
            Optional.of(ProjectionBehavior.stopMessage()));
    stopKeepAliveBeforeHandOff(system);
  }

  /**
   * Stops this node's keep-alive pinger of the daemon process before the shard regions hand their
   * shards off at shutdown. Its ping (every {@code keep-alive-interval}) that reaches the region
   * while a shard is handed off is buffered for the shard's next home; the only node of a cluster
   * has none to offer, so its region waited until the phase's timeout (about 9 s) and logged
   * "Graceful shutdown of shard region timed out" (pekko#3552; a fresh-clone CI run saw it). The
   * pinger only restarts projections that stopped; the other nodes' pingers keep doing that for the
   * cluster.
   */
  private static void stopKeepAliveBeforeHandOff(ActorSystem<?> system) {
    // ShardedDaemonProcessImpl starts it as a system actor of this name.
    String pinger = "/system/ShardedDaemonProcessKeepAlive-" + PROJECTION_NAME;
    Duration timeout = Duration.ofSeconds(2);
    var classic = system.classicSystem();
    CoordinatedShutdown.get(classic)
        .addTask(
            CoordinatedShutdown.PhaseBeforeClusterShutdown(),
            "sagaflow-stop-index-keep-alive",
            () ->
                classic
                    .actorSelection(pinger)
                    .resolveOne(timeout)
                    .thenCompose(ref -> Patterns.gracefulStop(ref, timeout))
                    .handle(
                        (stopped, failure) -> {
                          if (failure != null) {
                            log.warn(
                                "Could not stop {} before the shard hand-off; its pings may hold"
                                    + " the hand-off up: {}",
                                pinger,
                                failure.toString());
                          }
                          return Done.done();
                        }));
  }

  private static Behavior<ProjectionBehavior.Command> behavior(
      ActorSystem<?> system, HikariDataSource pool, SagaIndexSettings settings, String tag) {
    return ProjectionBehavior.create(projection(system, pool, settings, tag));
  }

  private static GroupedProjection<Offset, EventEnvelope<Object>> projection(
      ActorSystem<?> system, HikariDataSource pool, SagaIndexSettings settings, String tag) {
    SourceProvider<Offset, EventEnvelope<Object>> events =
        EventSourcedProvider.eventsByTag(system, JdbcReadJournal.Identifier(), tag);
    // groupedWithin on JDBC stores the offset in the handler's transaction: exactly once per group.
    return JdbcProjection.groupedWithin(
            ProjectionId.of(PROJECTION_NAME, tag),
            events,
            () -> new IndexJdbcSession(pool),
            SagaIndexHandler::new,
            system)
        .withGroup(settings.groupMaxEvents(), settings.groupMaxDelay());
  }

  /**
   * An empty index with stored offsets means the rows were removed on purpose (to rebuild) or lost:
   * either way the projection would otherwise only add sagas that change from now on. One
   * statement, so a row committed meanwhile by a projection already running on another node keeps
   * the offsets. If that projection's first commit races with this delete, the worst outcome is a
   * replay from the start at its next restart, which changes nothing (see {@link
   * SagaIndexUpdates}). Projections already running elsewhere keep their offsets in memory: to
   * rebuild while the cluster runs, clear each tag's offset with pekko-projection's {@code
   * ProjectionManagement}, which restarts the projection.
   */
  static void rebuildIfEmptied(HikariDataSource pool, String offsetTable) throws SQLException {
    String sql =
        "DELETE FROM "
            + offsetTable
            + " WHERE projection_name = ? AND NOT EXISTS (SELECT 1 FROM saga_index)";
    try (Connection c = pool.getConnection();
        PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setString(1, PROJECTION_NAME);
      int deleted = ps.executeUpdate();
      c.commit();
      if (deleted > 0) {
        log.info(
            "saga_index is empty but {} projection offset(s) were stored: rebuilding it from the"
                + " journal",
            deleted);
      }
    }
  }

  /** The offset table as pekko-projection's dialect names it, from its configuration. */
  public static String offsetTable(Config config) {
    Config store = config.getConfig("pekko.projection.jdbc.offset-store");
    boolean lowerCase = store.getBoolean("use-lowercase-schema");
    String table = quote(store.getString("table"), lowerCase);
    String schema = store.getString("schema");
    return schema.isEmpty() ? table : quote(schema, lowerCase) + "." + table;
  }

  private static String quote(String name, boolean lowerCase) {
    return "\"" + (lowerCase ? name.toLowerCase(Locale.ROOT) : name) + "\"";
  }
}
