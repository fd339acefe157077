package io.sagaflow.node;

import com.typesafe.config.Config;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.metrics.micrometer.MicrometerMetricsTrackerFactory;
import io.micrometer.core.instrument.MeterRegistry;
import io.sagaflow.orchestrator.fence.NodeFence;
import io.sagaflow.orchestrator.telemetry.NodeMetrics;
import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.NodeLeases;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.pekko.actor.CoordinatedShutdown;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.cluster.ClusterEvent.CurrentClusterState;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Fences this node (issue #15, defect 6): a node that may have been declared down by the others
 * neither calls a participant nor writes a saga's events until it has its lease back, and exits
 * when it cannot know it was not replaced.
 *
 * <p>Each node incarnation holds a lease row in PostgreSQL ({@link NodeLeases}) that this renews
 * every {@code renew-interval}, to {@code ttl} ahead by the database's clock. Three rules:
 *
 * <ol>
 *   <li><b>Time.</b> {@link NodeFence} keeps the lease valid locally until the monotonic time the
 *       last successful renewal started, plus {@code ttl}; every participant call checks it, and
 *       every journal insert checks the database's row in the same statement. {@code ttl +
 *       renew-interval} is shorter than the least time the others need to down a silent node (the
 *       failure detector's acceptable pause plus the split brain resolver's stable-after), so by
 *       the time another node can own this node's sagas, this one can no longer write — whatever
 *       its threads were doing when it froze.
 *   <li><b>Pauses.</b> An expired lease is taken back only when this thread saw no stall of {@code
 *       pause-limit} or more since the last renewal (a database outage keeps it ticking; a SIGSTOP
 *       or a long GC does not). After such a stall the node may have been downed and replaced: it
 *       fences its lease for good and exits (the node's supervisor starts a new incarnation).
 *   <li><b>Partitions.</b> On the minority side of the cluster (the side the keep-majority resolver
 *       downs) the node gives its lease up at once, and takes it back only after {@code
 *       rejoin-after} on the majority side, long enough to have heard that it was downed.
 * </ol>
 */
final class NodeLease implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(NodeLease.class);

  /** Why the node stops when fenced for good; the process exits non-zero. */
  static final CoordinatedShutdown.Reason FENCED =
      new CoordinatedShutdown.Reason() {
        @Override
        public String toString() {
          return "NodeFenced";
        }
      };

  record Settings(
      Duration ttl,
      Duration renewInterval,
      Duration pauseLimit,
      Duration rejoinAfter,
      Duration timeout) {

    /**
     * From {@code sagaflow.node.lease}; the pause limit is derived from the cluster's own timings
     * unless set.
     */
    static Settings fromConfig(Config config) {
      Config lease = config.getConfig("sagaflow.node.lease");
      Duration downedAfter = leastTimeToDown(config);
      Duration ttl = lease.getDuration("ttl");
      Duration interval = lease.getDuration("renew-interval");
      if (ttl.plus(interval).compareTo(downedAfter) >= 0) {
        throw new IllegalArgumentException(
            "sagaflow.node.lease.ttl + renew-interval ("
                + ttl.plus(interval)
                + ") must be shorter than the least time the cluster takes to down a silent node"
                + " (acceptable-heartbeat-pause + split-brain-resolver.stable-after = "
                + downedAfter
                + ")");
      }
      Duration pauseLimit =
          lease.getString("pause-limit").equals("auto")
              ? downedAfter.minusSeconds(1)
              : lease.getDuration("pause-limit");
      return new Settings(
          ttl,
          interval,
          pauseLimit.compareTo(ttl) < 0 ? ttl : pauseLimit,
          lease.getDuration("rejoin-after"),
          lease.getDuration("timeout"));
    }

    static Duration leastTimeToDown(Config config) {
      return config
          .getDuration("pekko.cluster.failure-detector.acceptable-heartbeat-pause")
          .plus(config.getDuration("pekko.cluster.split-brain-resolver.stable-after"));
    }

    int timeoutSeconds() {
      return (int) Math.max(1, (timeout.toMillis() + 999) / 1000);
    }
  }

  private final ActorSystem<?> system;
  private final NodeFence fence;
  private final Settings settings;
  private final HikariDataSource pool;
  private final String node;
  private final ScheduledExecutorService ticker;

  // Touched only by the ticker thread (and the constructor, before it starts).
  private long lastTickEnd;
  private long longestStall;
  private boolean unreachableDatabase;
  private long majoritySince = -1;
  private boolean fenceMinority;
  private boolean wasMember;

  private NodeLease(ActorSystem<?> system, DatabaseSettings database, Settings settings) {
    this.system = system;
    this.fence = NodeFence.get(Adapter.toClassic(system));
    this.settings = settings;
    this.node = nodeKey(system);
    this.pool = pool(database, settings, NodeMetrics.get(Adapter.toClassic(system)).registry());
    this.ticker =
        Executors.newSingleThreadScheduledExecutor(
            task -> {
              Thread thread = new Thread(task, "sagaflow-node-lease");
              thread.setDaemon(true);
              return thread;
            });
  }

  /**
   * Acquires this incarnation's lease (retrying until {@code deadline}), turns the fence on and
   * starts renewing. The lease is released with the pool when the actor system terminates.
   */
  static NodeLease start(
      ActorSystem<?> system, DatabaseSettings database, Settings settings, Duration deadline) {
    var lease = new NodeLease(system, database, settings);
    try {
      lease.acquire(deadline);
    } catch (RuntimeException e) {
      lease.close();
      throw e;
    }
    system.getWhenTerminated().thenRun(lease::close);
    return lease;
  }

  /** This incarnation's key: its cluster address and uid (a restarted node is a new one). */
  static String nodeKey(ActorSystem<?> system) {
    var self = Cluster.get(system).selfMember().uniqueAddress();
    return self.address() + "#" + self.longUid();
  }

  private void acquire(Duration deadline) {
    fence.enable(node);
    long until = System.nanoTime() + deadline.toNanos();
    while (true) {
      long started = System.nanoTime();
      try (Connection c = pool.getConnection()) {
        NodeLeases.acquire(c, node, settings.ttl(), settings.timeoutSeconds());
        fence.renewed(started, settings.ttl());
        break;
      } catch (SQLException e) {
        if (System.nanoTime() > until) {
          throw new IllegalStateException("could not acquire the node lease: " + e.getMessage(), e);
        }
        log.warn("Could not acquire the node lease yet, retrying: {}", e.getMessage());
        sleepQuietly(settings.renewInterval());
      }
    }
    lastTickEnd = System.nanoTime();
    log.info(
        "Node lease {} acquired (ttl {}, renewed every {})",
        node,
        settings.ttl(),
        settings.renewInterval());
    long every = settings.renewInterval().toMillis();
    ticker.scheduleWithFixedDelay(this::tickSafely, every, every, TimeUnit.MILLISECONDS);
  }

  private void tickSafely() {
    try {
      tick();
    } catch (RuntimeException e) {
      log.error("Node lease tick failed: {}", e.toString(), e);
    }
  }

  private void tick() {
    long started = System.nanoTime();
    noteStall(started - lastTickEnd - settings.renewInterval().toNanos());
    try {
      renewOrDecide(started);
    } finally {
      lastTickEnd = System.nanoTime();
      // An attempt far longer than its own timeouts allow was frozen midway.
      noteStall(lastTickEnd - started - attemptBound().toNanos());
    }
  }

  private void renewOrDecide(long started) {
    if (fence.closedForGood()) {
      return;
    }
    // Checked before anything else, even while the node is stopping: a node that woke from a
    // freeze past the pause limit may have been downed and replaced meanwhile (and may be stopping
    // already because gossip told it so first); it must neither write nor call again, nor take
    // its lease back.
    if (Duration.ofNanos(longestStall).compareTo(settings.pauseLimit()) >= 0 && !fence.mayAct()) {
      fenceForGood(
          "it was frozen for "
              + Duration.ofNanos(longestStall).toMillis()
              + " ms (at least "
              + settings.pauseLimit().toMillis()
              + " ms): the cluster may have declared it down and given its sagas to another node");
      return;
    }
    if (CoordinatedShutdown.get(Adapter.toClassic(system)).getShutdownReason().isPresent()) {
      return; // stopping anyway: a graceful leave hands the sagas over, and must write meanwhile
    }
    // Removed is also the status before joining.
    MemberStatus status = Cluster.get(system).selfMember().status();
    wasMember |= status != MemberStatus.removed();
    if (status == MemberStatus.down() || (status == MemberStatus.removed() && wasMember)) {
      fenceForGood("the cluster has marked this node " + status);
      return;
    }
    if (onMinoritySide()) {
      return;
    }
    try (Connection c = pool.getConnection()) {
      boolean renewed = NodeLeases.renew(c, node, settings.ttl(), settings.timeoutSeconds());
      if (!renewed) {
        if (!NodeLeases.reacquire(c, node, settings.ttl(), settings.timeoutSeconds())) {
          fenceForGood("its lease is fenced in the database");
          return;
        }
        log.warn(
            "Node lease {} had expired (not renewed for a while: the database was unreachable or"
                + " the node gave it up); taken back",
            node);
      }
      fence.renewed(started, settings.ttl());
      longestStall = 0;
      if (unreachableDatabase) {
        unreachableDatabase = false;
        log.info("Node lease {} renewed again: the database answers", node);
      }
    } catch (SQLException e) {
      if (!unreachableDatabase) {
        unreachableDatabase = true;
        log.warn(
            "Could not renew node lease {}: {}; calls and writes stop when it expires",
            node,
            e.getMessage());
      }
    }
  }

  /**
   * Whether this node sits on the side the keep-majority resolver downs. Gives the lease up on
   * entering it; returns false only once the node has been on the majority side for {@code
   * rejoin-after}.
   */
  private boolean onMinoritySide() {
    var cluster = Cluster.get(system);
    var state = cluster.state();
    boolean minority = minority(state, cluster.selfMember());
    long now = System.nanoTime();
    if (minority) {
      majoritySince = -1;
      if (!fenceMinority) {
        fenceMinority = true;
        fence.minority(true);
        log.warn(
            "This node sees itself on the minority side of the cluster (unreachable: {}): it stops"
                + " calling participants and writing, and gives its lease up",
            state.getUnreachable().stream().map(m -> m.address().toString()).toList());
        try (Connection c = pool.getConnection()) {
          NodeLeases.release(c, node, settings.timeoutSeconds());
        } catch (SQLException e) {
          log.warn("Could not release node lease {}: {}", node, e.getMessage());
        }
      }
      return true;
    }
    if (!fenceMinority) {
      return false;
    }
    if (majoritySince < 0) {
      majoritySince = now;
    }
    if (now - majoritySince < settings.rejoinAfter().toNanos()) {
      return true;
    }
    fenceMinority = false;
    fence.minority(false);
    log.info("This node is on the majority side again; taking its lease back");
    return false;
  }

  /**
   * The keep-majority rule on this node's view: fewer than half the Up (or Leaving) members
   * reachable, or exactly half without the lowest address.
   */
  static boolean minority(CurrentClusterState state, Member self) {
    Set<Member> members =
        java.util.stream.StreamSupport.stream(state.getMembers().spliterator(), false)
            .filter(m -> m.status() == MemberStatus.up() || m.status() == MemberStatus.leaving())
            .collect(Collectors.toSet());
    if (!members.contains(self)) {
      return false;
    }
    Set<Member> unreachable = state.getUnreachable();
    long reachable = members.stream().filter(m -> !unreachable.contains(m)).count();
    if (reachable * 2 != members.size()) {
      return reachable * 2 < members.size();
    }
    Member lowest = members.stream().min(Member.ordering()).orElseThrow();
    return unreachable.contains(lowest);
  }

  private void fenceForGood(String why) {
    fence.closeForGood(why);
    log.error(
        "Node {} is fenced for good and exits: {}. It calls no participant and writes no event"
            + " from now on; its supervisor starts a new incarnation",
        node,
        why);
    try (Connection c = pool.getConnection()) {
      NodeLeases.fence(c, node, settings.timeoutSeconds());
    } catch (SQLException e) {
      log.warn("Could not mark node lease {} fenced (it expires anyway): {}", node, e.getMessage());
    }
    CoordinatedShutdown.get(Adapter.toClassic(system)).run(FENCED);
  }

  private void noteStall(long nanos) {
    if (nanos > longestStall) {
      longestStall = nanos;
    }
  }

  /**
   * The longest a renewal may take without a stall: every timeout it may wait out, and a second.
   */
  private Duration attemptBound() {
    return settings.timeout().multipliedBy(3).plusSeconds(1);
  }

  private static HikariDataSource pool(
      DatabaseSettings database, Settings settings, MeterRegistry meters) {
    var config = new HikariConfig();
    config.setPoolName("sagaflow-node-lease");
    config.setMetricsTrackerFactory(new MicrometerMetricsTrackerFactory(meters));
    config.setJdbcUrl(database.url());
    config.setUsername(database.user());
    config.setPassword(database.password());
    config.setMaximumPoolSize(1);
    config.setMinimumIdle(1);
    config.setConnectionTimeout(Math.max(250, settings.timeout().toMillis()));
    config.setInitializationFailTimeout(-1);
    config.addDataSourceProperty("socketTimeout", settings.timeoutSeconds() + 1);
    config.addDataSourceProperty("connectTimeout", settings.timeoutSeconds());
    return new HikariDataSource(config);
  }

  private static void sleepQuietly(Duration d) {
    try {
      Thread.sleep(d.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while acquiring the node lease", e);
    }
  }

  @Override
  public void close() {
    ticker.shutdownNow();
    pool.close();
  }
}
