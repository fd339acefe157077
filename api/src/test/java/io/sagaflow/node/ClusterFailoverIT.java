package io.sagaflow.node;

import static io.sagaflow.node.ClusterTestNodes.throttled;
import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.sagaflow.node.ClusterTestNodes.Node;
import io.sagaflow.orchestrator.SagaEntity;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.orchestrator.testing.StubParticipant.Call;
import io.sagaflow.persistence.testing.TestDatabase;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.pekko.cluster.sharding.typed.HashCodeMessageExtractor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Three node JVMs on loopback form a cluster over one PostgreSQL (Cluster Bootstrap, formation
 * {@code config}) and a stub participant in this JVM records every call:
 *
 * <ol>
 *   <li>failover: 300 sagas are started through the three HTTP APIs and held at a slow step; the
 *       node hosting the most of them is killed with {@code kill -9}; the survivors (once the split
 *       brain resolver has downed it) finish every saga, and no effect is applied twice; starts
 *       sent just after the kill to the victim's shards through a survivor (whose region still
 *       routes them to the dead node, where they are lost) are answered 201 once the shards have
 *       moved, by the engine sending them again;
 *   <li>rolling restart: with sagas in flight, each node in turn gets SIGTERM, exits, is started
 *       again on the same ports and rejoins; every saga finishes, none waits for a failure
 *       detector, none applies an effect twice;
 *   <li>frozen node: one node is stopped with SIGSTOP until the others have downed it and resumed
 *       its sagas, then woken with SIGCONT: it calls no participant and writes nothing (its lease
 *       has expired: it exits);
 *   <li>single writer: over all three runs, no node logged a duplicate key, and in the journal
 *       every saga's events are contiguous and written by one incarnation after another, never two
 *       interleaved.
 * </ol>
 *
 * <p>The tests share the cluster and the database, in this order. Node logs: {@code
 * target/cluster/ClusterFailoverIT-node<i>-<incarnation>.log}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterFailoverIT {
  private static final Logger log = LoggerFactory.getLogger(ClusterFailoverIT.class);

  private static final int NODES = 3;
  private static final int FAILOVER_SAGAS = 300;
  private static final int ROLLING_SAGAS = 100;
  private static final int FROZEN_SAGAS = 60;

  /** Sagas started just after the kill into the killed node's shards. */
  private static final int LATE_SAGAS = 6;

  /** What the slow steps' participant works per call. */
  private static final Duration STEP_WORK = Duration.ofMillis(1500);

  /** Two cores shared with other builds: a JVM may take a minute to start and join. */
  private static final Duration NODE_START = Duration.ofSeconds(180);

  private static final Duration SAGAS_DONE = Duration.ofSeconds(240);

  /**
   * The least time a crashed node's sagas wait before another node resumes them: the failure
   * detector's acceptable heartbeat pause plus the split brain resolver's stable-after (3 s + 2 s,
   * from the node's config), before even the downed node's removal and the shards' reallocation.
   */
  /** How the nodes map saga ids to shards. */
  private static final HashCodeMessageExtractor<SagaEntity.Command> SHARDS =
      new HashCodeMessageExtractor<>(
          SagaflowNode.config(ConfigFactory.empty()).getInt("sagaflow.engine.number-of-shards"));

  /**
   * Long enough for a start sent just after a kill to be answered once the killed node's shards
   * have moved (~8 s later); with Pekko's plain ask (no resend) it would time out instead.
   */
  private static final String ASK_TIMEOUT = "20s";

  private static final Duration FAILURE_DETECTOR_PATH =
      NodeLease.Settings.leastTimeToDown(SagaflowNode.config(ConfigFactory.empty()));

  /**
   * The longest a saga may sit idle during a graceful handover: about 5 s measured on a quiet
   * machine (step work included), bounded with room for a heavily loaded machine. That no failure
   * detector was involved at all is checked exactly by the absence of SBR downing.
   */
  private static final Duration HANDOVER_BOUND = Duration.ofSeconds(15);

  private TestDatabase db;
  private StubParticipant stub;
  private ClusterTestNodes cluster;

  /** Holds the failover sagas' middle step until the test has killed a node. */
  private final CountDownLatch gate = new CountDownLatch(1);

  @BeforeAll
  void startCluster() {
    db = TestDatabase.fresh();
    stub = StubParticipant.start();
    cluster =
        new ClusterTestNodes(NODES, db, stub.baseUrl(), "ClusterFailoverIT")
            .withParticipantPathPerNode()
            .withNodeSetting("sagaflow.engine.ask-timeout", ASK_TIMEOUT)
            // No periodic sweep to fall back on: a lost node's sagas must be woken by the sweep of
            // its removal (whose wakes are sent while the shards are still moving).
            .withNodeSetting("sagaflow.recovery.sweep-interval", "1h");
    Instant start = Instant.now();
    cluster.startMissing();
    cluster.awaitFormed(NODE_START);
    log.info("{} nodes up and formed in {} ms: {}", NODES, millisSince(start), cluster.nodes());
  }

  @AfterAll
  void stopCluster() {
    gate.countDown();
    if (cluster != null) {
      cluster.close();
    }
    if (stub != null) {
      stub.close();
    }
  }

  // ---- failover -------------------------------------------------------------------------------

  @Test
  @Order(1)
  void sagasOfAKilledNodeFinishOnTheSurvivorsWithNoEffectAppliedTwice() {
    for (Node node : cluster.nodes()) {
      stub.on("/" + node.name + "/f/b")
          .delay(STEP_WORK)
          .handle(
              call -> {
                awaitGate();
                return StubParticipant.Response.json(200, "{\"ok\":true}");
              });
    }
    List<String> ids = ids("failover-", 0, FAILOVER_SAGAS);

    Instant startAt = Instant.now();
    Map<String, Node> via =
        cluster.startSagas(ids, "failover", cluster.nodes(), 12, Duration.ofSeconds(120));
    log.info(
        "{} sagas started in {} ms, through {}",
        ids.size(),
        millisSince(startAt),
        countBy(via.values()));

    // Step a done for every saga: each one is now at b, held by the gate.
    Eventually.until(
        "every failover saga past step a",
        Duration.ofSeconds(120),
        throttled(
            Duration.ofMillis(250), () -> events("failover-", "StepSucceeded") == FAILOVER_SAGAS));

    // Which node hosts which saga: each one exactly once (asked again should a shard be moving).
    var lastSeen = new StringBuilder();
    Map<Node, Set<String>> hosted;
    try {
      hosted =
          Eventually.await(
              "each failover saga hosted by exactly one node",
              Duration.ofSeconds(60),
              () -> {
                var byNode = new LinkedHashMap<Node, Set<String>>();
                var every = new ArrayList<String>();
                for (Node node : cluster.nodes()) {
                  Set<String> sagas = node.hostedSagas(Duration.ofSeconds(30));
                  byNode.put(node, sagas);
                  sagas.stream().filter(id -> id.startsWith("failover-")).forEach(every::add);
                }
                lastSeen.setLength(0);
                lastSeen.append(describe(byNode));
                return every.size() == FAILOVER_SAGAS && new HashSet<>(every).containsAll(ids)
                    ? byNode
                    : null;
              });
    } catch (AssertionError e) {
      throw new AssertionError(e.getMessage() + "; last seen: " + lastSeen, e);
    }
    log.info("sagas hosted before the kill: {}", describe(hosted));

    Node victim =
        hosted.entrySet().stream()
            .max(Comparator.comparingInt(e -> e.getValue().size()))
            .orElseThrow()
            .getKey();
    Set<String> victimSagas = hosted.get(victim);
    List<Node> survivors = cluster.nodes().stream().filter(n -> n != victim).toList();
    assertThat(events("failover-", "SagaCompleted")).isZero();

    // New sagas whose shards the victim hosts, started through a survivor that routed to those
    // shards before: its region sends each start to the victim, where it is lost, until the
    // victim is removed and the shard moves. Answered then, by the start sent again.
    Node entry = survivors.get(0);
    List<String> late = lateIds(victimSagas, via, entry);

    victim.kill(); // SIGKILL: no shutdown hook, no graceful leave, no handover
    Instant killedAt = Instant.now();
    gate.countDown();
    log.info("killed {}, which hosted {} sagas in flight", victim.name, victimSagas.size());
    Map<String, CompletableFuture<HttpResponse<String>>> lateStarts = new LinkedHashMap<>();
    for (String id : late) {
      lateStarts.put(
          id,
          CompletableFuture.supplyAsync(
                  () -> cluster.postJson(entry, "/v1/sagas", startBody(id), Duration.ofSeconds(60)))
              .whenComplete(
                  (answer, failure) ->
                      log.info(
                          "start of {} after the kill answered {} at {} ms",
                          id,
                          answer == null ? failure : answer.statusCode(),
                          millisSince(killedAt))));
    }

    Eventually.until(
        victim.name + " downed and removed by the survivors",
        Duration.ofSeconds(120),
        throttled(
            Duration.ofMillis(200),
            () ->
                survivors.stream()
                    .allMatch(
                        n -> !n.membership().statusByAddress().containsKey(victim.address()))));
    Instant removedAt = Instant.now();

    Eventually.until(
        "all " + FAILOVER_SAGAS + " failover sagas completed",
        SAGAS_DONE,
        throttled(
            Duration.ofMillis(250), () -> events("failover-", "SagaCompleted") == FAILOVER_SAGAS));
    Instant allDone = Instant.now();

    List<Call> resumed =
        stub.calls().stream()
            .filter(c -> c.arrivedAt().isAfter(killedAt))
            .filter(c -> sagaOf(c).map(victimSagas::contains).orElse(false))
            .toList();
    assertThat(resumed).as("calls for the killed node's sagas after the kill").isNotEmpty();
    Instant firstResumed = resumed.get(0).arrivedAt();
    Instant victimSagasDone =
        completionTimes("failover-").entrySet().stream()
            .filter(e -> victimSagas.contains(e.getKey()))
            .map(Map.Entry::getValue)
            .max(Comparator.naturalOrder())
            .orElse(allDone);
    log.info(
        "FAILOVER: {} sagas in flight on the killed {}; after the kill: removed from the cluster"
            + " {} ms, first resumed call {} ms, its sagas all completed {} ms, all {} sagas"
            + " completed {} ms",
        victimSagas.size(),
        victim.name,
        Duration.between(killedAt, removedAt).toMillis(),
        Duration.between(killedAt, firstResumed).toMillis(),
        Duration.between(killedAt, victimSagasDone).toMillis(),
        FAILOVER_SAGAS,
        Duration.between(killedAt, allDone).toMillis());

    for (var start : lateStarts.entrySet()) {
      HttpResponse<String> answer = start.getValue().join();
      assertThat(answer.statusCode())
          .as(
              "start of %s (shard %s, hosted by the killed node) through %s: %s",
              start.getKey(), shardOf(start.getKey()), entry.name, answer.body())
          .isEqualTo(201);
    }
    Eventually.until(
        "the sagas started after the kill completed",
        SAGAS_DONE,
        throttled(Duration.ofMillis(250), () -> events("late-", "SagaCompleted") == late.size()));

    // Read through the survivors' API too.
    int n = 0;
    for (String id : victimSagas) {
      Node node = survivors.get(n++ % survivors.size());
      assertThat(cluster.getJson(node, "/v1/sagas/" + id).path("status").asText())
          .as("%s read through %s", id, node.name)
          .isEqualTo("COMPLETED");
    }
    assertThat(victimSagas).isNotEmpty();
    assertThat(firstResumed)
        .as("the survivors resume only once the killed node is downed")
        .isAfter(killedAt.plus(FAILURE_DETECTOR_PATH));
    assertThat(db.count(sql("failover-", "SagaCompleted", "count(distinct persistence_id)")))
        .isEqualTo(FAILOVER_SAGAS);
    assertThat(events("failover-", "StepFailed")).isZero();
    assertThat(events("failover-", "SagaFailed")).isZero();
    assertThat(stub.maxTimesApplied()).as("most times any effect was applied").isEqualTo(1);
    Set<String> applied = stub.appliedKeys();
    for (String id : ids) {
      assertThat(applied).contains(id + "/a", id + "/b", id + "/c");
    }
  }

  /** The shard a saga id belongs to, as the nodes compute it. */
  private static String shardOf(String sagaId) {
    return SHARDS.shardId(sagaId);
  }

  /**
   * {@link #LATE_SAGAS} new saga ids in shards that {@code victim} hosts and that {@code entry}
   * started sagas in (so its region knows the shards' home: the victim).
   */
  private static List<String> lateIds(Set<String> victimSagas, Map<String, Node> via, Node entry) {
    Set<String> shards =
        victimSagas.stream().map(ClusterFailoverIT::shardOf).collect(Collectors.toSet());
    shards.retainAll(
        via.entrySet().stream()
            .filter(e -> e.getValue() == entry)
            .map(e -> shardOf(e.getKey()))
            .collect(Collectors.toSet()));
    assertThat(shards).as("shards of the victim that %s started sagas in", entry.name).isNotEmpty();
    return IntStream.range(0, 10_000)
        .mapToObj(i -> "late-" + i)
        .filter(id -> shards.contains(shardOf(id)))
        .limit(LATE_SAGAS)
        .toList();
  }

  private static String startBody(String id) {
    return "{\"type\":\"failover\",\"id\":\"" + id + "\",\"input\":{\"saga\":\"" + id + "\"}}";
  }

  private void awaitGate() {
    try {
      if (!gate.await(10, TimeUnit.MINUTES)) {
        throw new IllegalStateException("gate never opened");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted at the gate", e);
    }
  }

  // ---- rolling restart ------------------------------------------------------------------------

  @Test
  @Order(2)
  void aRollingRestartHandsSagasOverWithoutWaitingForAFailureDetector() {
    for (Node node : cluster.nodes()) {
      stub.on("/" + node.name + "/r/*").delay(STEP_WORK);
    }
    // After the failover the killed node is started again: three nodes to roll.
    Instant restartAt = Instant.now();
    cluster.startMissing();
    cluster.awaitFormed(NODE_START);
    log.info("cluster of {} formed again in {} ms", NODES, millisSince(restartAt));
    Map<Path, Integer> mark = cluster.logMark();
    Instant rollStart = Instant.now();

    List<String> ids = ids("rolling-", 0, ROLLING_SAGAS);
    var inFlightAtStop = new HashSet<String>();
    int next = 0;
    for (int i = 0; i < NODES; i++) {
      Node node = cluster.node(i);
      // A fresh batch per node, so that sagas are in flight when it stops.
      int size = (ROLLING_SAGAS - next) / (NODES - i);
      List<String> batch = ids.subList(next, next + size);
      next += size;
      cluster.startSagas(batch, "rolling", cluster.running(), 8, Duration.ofSeconds(120));
      Eventually.until(
          "the batch's first calls",
          Duration.ofSeconds(60),
          throttled(Duration.ofMillis(100), () -> calledKeys().containsAll(keys(batch, "r1"))));
      Set<String> hosted = node.hostedSagas(Duration.ofSeconds(30));
      inFlightAtStop.addAll(hosted);

      Instant stopAt = Instant.now();
      int exit = node.stop(Duration.ofSeconds(120));
      long stopMillis = millisSince(stopAt);
      Instant startAt = Instant.now();
      node.start();
      node.awaitReady(NODE_START);
      cluster.awaitFormed(NODE_START);
      log.info(
          "ROLL {}: hosted {} sagas in flight; SIGTERM to exit {} ms (exit code {}); started again"
              + " and Up in {} ms",
          node.name,
          hosted.size(),
          stopMillis,
          exit,
          millisSince(startAt));
    }
    Instant rollEnd = Instant.now();

    Eventually.until(
        "all " + ROLLING_SAGAS + " rolling sagas completed",
        SAGAS_DONE,
        throttled(
            Duration.ofMillis(250), () -> events("rolling-", "SagaCompleted") == ROLLING_SAGAS));

    // The longest a saga waited between two of its calls: a step's work, plus any handover.
    Map<String, Duration> gaps = longestGaps("rolling-");
    Duration longest = gaps.values().stream().max(Comparator.naturalOrder()).orElseThrow();
    Duration longestHandedOver =
        gaps.entrySet().stream()
            .filter(e -> inFlightAtStop.contains(e.getKey()))
            .map(Map.Entry::getValue)
            .max(Comparator.naturalOrder())
            .orElse(Duration.ZERO);
    String worst =
        gaps.entrySet().stream()
            .max(Map.Entry.comparingByValue())
            .map(Map.Entry::getKey)
            .orElseThrow();
    log.info(
        "ROLLING: roll took {} ms; {} sagas were in flight on a node when it got SIGTERM; longest"
            + " gap between two calls of one saga: {} ms ({}), of a saga in flight at a stop: {}"
            + " ms; sagas by longest gap (s): {}",
        Duration.between(rollStart, rollEnd).toMillis(),
        inFlightAtStop.size(),
        longest.toMillis(),
        worst,
        longestHandedOver.toMillis(),
        histogram(gaps.values()));

    assertThat(inFlightAtStop).as("sagas in flight on a node when it stopped").isNotEmpty();
    assertThat(longest)
        .as("longest gap between two calls of one saga (%s; step work %s)", worst, STEP_WORK)
        .isLessThan(HANDOVER_BOUND);
    assertThat(cluster.grepLogs("SBR is downing", mark)).as("downing during the roll").isEmpty();
    assertThat(db.count(sql("rolling-", "SagaCompleted", "count(distinct persistence_id)")))
        .isEqualTo(ROLLING_SAGAS);
    assertThat(events("rolling-", "StepFailed")).isZero();
    assertThat(events("rolling-", "SagaFailed")).isZero();
    assertThat(stub.maxTimesApplied()).as("most times any effect was applied").isEqualTo(1);
    Set<String> applied = stub.appliedKeys();
    for (int step = 1; step <= ClusterTestNode.ROLLING_STEPS; step++) {
      assertThat(applied).containsAll(keys(ids, "r" + step));
    }
  }

  // ---- single writer --------------------------------------------------------------------------

  // ---- a frozen node -------------------------------------------------------------------------

  /**
   * Issue #15, defect 6: a node frozen (SIGSTOP) until the others have downed it and taken its
   * sagas over must, once it wakes (SIGCONT), neither call a participant nor write an event: its
   * lease has expired by then, so it exits instead. Each node calls the participant under its own
   * path prefix, so every call says which node made it.
   */
  @Test
  @Order(3)
  void aNodeFrozenPastTheFailureDetectorNeitherCallsNorWritesWhenItWakes() {
    for (Node node : cluster.nodes()) {
      stub.on("/" + node.name + "/r/*").delay(STEP_WORK);
    }
    cluster.startMissing();
    cluster.awaitFormed(NODE_START);
    List<String> ids = ids("frozen-", 0, FROZEN_SAGAS);
    cluster.startSagas(ids, "rolling", cluster.nodes(), 8, Duration.ofSeconds(120));
    Eventually.until(
        "every frozen- saga called its first step",
        Duration.ofSeconds(60),
        throttled(Duration.ofMillis(100), () -> calledKeys().containsAll(keys(ids, "r1"))));

    Node victim = cluster.node(0);
    Set<String> hosted = victim.hostedSagas(Duration.ofSeconds(30));
    List<Node> survivors = cluster.nodes().stream().filter(n -> n != victim).toList();
    victim.signal("STOP");
    Instant stoppedAt = Instant.now();
    Eventually.until(
        victim.name + " downed and removed by the others while frozen",
        Duration.ofSeconds(120),
        throttled(
            Duration.ofMillis(200),
            () ->
                survivors.stream()
                    .allMatch(
                        n -> !n.membership().statusByAddress().containsKey(victim.address()))));
    // Its sagas carry on elsewhere before it wakes.
    Eventually.until(
        "a saga of the frozen node resumed by another node",
        Duration.ofSeconds(60),
        throttled(
            Duration.ofMillis(100),
            () ->
                stub.calls().stream()
                    .filter(c -> c.arrivedAt().isAfter(stoppedAt))
                    .filter(c -> !c.path().startsWith("/" + victim.name + "/"))
                    .anyMatch(c -> sagaOf(c).map(hosted::contains).orElse(false))));

    Instant wokenAt = Instant.now();
    victim.signal("CONT");
    int exit = victim.awaitExit(Duration.ofSeconds(120));
    log.info(
        "FROZEN: {} hosted {} sagas; frozen {} ms; exited {} ms after waking, code {}",
        victim.name,
        hosted.size(),
        Duration.between(stoppedAt, wokenAt).toMillis(),
        millisSince(wokenAt),
        exit);

    Eventually.until(
        "all " + FROZEN_SAGAS + " frozen- sagas completed",
        SAGAS_DONE,
        throttled(
            Duration.ofMillis(250), () -> events("frozen-", "SagaCompleted") == FROZEN_SAGAS));
    assertThat(hosted).as("sagas in flight on the frozen node").isNotEmpty();
    assertThat(
            stub.calls().stream()
                .filter(c -> c.path().startsWith("/" + victim.name + "/"))
                .filter(c -> c.arrivedAt().isAfter(wokenAt))
                .map(c -> c.path() + " " + c.idempotencyKey().orElse("") + " " + c.arrivedAt())
                .toList())
        .as("calls the frozen node made after it woke")
        .isEmpty();
    assertThat(victim.lines())
        .as("the woken node's own account")
        .anyMatch(line -> line.contains("is fenced for good and exits"));
    assertThat(stub.maxTimesApplied()).as("most times any effect was applied").isEqualTo(1);
    // Its writes: everyPersistentEntityHadOneWriterAtATime (no duplicate key, no interleaving).
  }

  @Test
  @Order(4)
  void everyPersistentEntityHadOneWriterAtATime() throws SQLException {
    assertThat(cluster.grepLogs("duplicate key")).as("duplicate keys in the node logs").isEmpty();

    // Per persistence id, in sequence order: contiguous numbers, and writers one after another.
    var violations = new ArrayList<String>();
    var writersPerSaga = new TreeMap<Integer, Integer>();
    int entities = 0;
    try (Connection c = db.connect();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "select persistence_id, sequence_number, writer from event_journal"
                    + " order by persistence_id, sequence_number")) {
      String pid = null;
      long previous = 0;
      String writer = null;
      Set<String> retired = new HashSet<>();
      while (rs.next()) {
        String rowPid = rs.getString(1);
        long seq = rs.getLong(2);
        String rowWriter = rs.getString(3);
        if (!rowPid.equals(pid)) {
          if (pid != null && pid.startsWith("saga|")) {
            writersPerSaga.merge(retired.size() + 1, 1, Integer::sum);
          }
          entities++;
          pid = rowPid;
          writer = rowWriter;
          retired.clear();
          if (pid.startsWith("saga|") && seq != 1) {
            violations.add(pid + " starts at sequence number " + seq);
          }
        } else {
          if (seq != previous + 1) {
            violations.add(pid + ": sequence number " + seq + " after " + previous);
          }
          if (!rowWriter.equals(writer)) {
            retired.add(writer);
            if (retired.contains(rowWriter)) {
              violations.add(
                  pid + ": writer " + rowWriter + " wrote again at " + seq + " after " + writer);
            }
            writer = rowWriter;
          }
        }
        previous = seq;
      }
      if (pid != null && pid.startsWith("saga|")) {
        writersPerSaga.merge(retired.size() + 1, 1, Integer::sum);
      }
    }
    log.info(
        "SINGLE WRITER: {} persistence ids checked; sagas by number of writers: {}",
        entities,
        writersPerSaga);
    assertThat(violations).as("single-writer violations").isEmpty();
    assertThat(writersPerSaga.values().stream().mapToInt(Integer::intValue).sum())
        .isEqualTo(FAILOVER_SAGAS + LATE_SAGAS + ROLLING_SAGAS + FROZEN_SAGAS);
    // The failover's resumed sagas at least were written by two incarnations, one after the other.
    assertThat(writersPerSaga.keySet()).anyMatch(writers -> writers > 1);
  }

  // ---- helpers --------------------------------------------------------------------------------

  private static List<String> ids(String prefix, int from, int to) {
    return IntStream.range(from, to).mapToObj(i -> prefix + i).toList();
  }

  private static List<String> keys(List<String> ids, String step) {
    return ids.stream().map(id -> id + "/" + step).toList();
  }

  private Set<String> calledKeys() {
    return stub.calls().stream()
        .map(Call::idempotencyKey)
        .flatMap(Optional::stream)
        .collect(Collectors.toSet());
  }

  /** The saga a call was made for: its idempotency key is {@code <saga id>/<step>}. */
  private static Optional<String> sagaOf(Call call) {
    return call.idempotencyKey()
        .filter(k -> k.lastIndexOf('/') > 0)
        .map(k -> k.substring(0, k.lastIndexOf('/')));
  }

  private static String sql(String sagaPrefix, String eventType, String what) {
    return "select "
        + what
        + " from event_journal where persistence_id like 'saga|"
        + sagaPrefix
        + "%' and event_ser_manifest like '%$"
        + eventType
        + "'";
  }

  private long events(String sagaPrefix, String eventType) {
    return db.count(sql(sagaPrefix, eventType, "count(*)"));
  }

  /** When each saga's SagaCompleted was written, by saga id. */
  private Map<String, Instant> completionTimes(String sagaPrefix) {
    var times = new HashMap<String, Instant>();
    try (Connection c = db.connect();
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(sql(sagaPrefix, "SagaCompleted", "persistence_id, write_timestamp"))) {
      while (rs.next()) {
        long millis = rs.getLong(2);
        if (millis > 0) {
          times.put(rs.getString(1).substring("saga|".length()), Instant.ofEpochMilli(millis));
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
    return times;
  }

  /** Per saga, the longest time between two consecutive calls it made to the participant. */
  private Map<String, Duration> longestGaps(String sagaPrefix) {
    var bySaga = new HashMap<String, List<Instant>>();
    for (Call call : stub.calls()) {
      sagaOf(call)
          .filter(id -> id.startsWith(sagaPrefix))
          .ifPresent(
              id -> bySaga.computeIfAbsent(id, k -> new ArrayList<>()).add(call.arrivedAt()));
    }
    var gaps = new HashMap<String, Duration>();
    bySaga.forEach(
        (id, times) -> {
          times.sort(Comparator.naturalOrder());
          Duration longest = Duration.ZERO;
          for (int i = 1; i < times.size(); i++) {
            Duration gap = Duration.between(times.get(i - 1), times.get(i));
            if (gap.compareTo(longest) > 0) {
              longest = gap;
            }
          }
          gaps.put(id, longest);
        });
    return gaps;
  }

  /** Sagas per whole second of their longest gap. */
  private static Map<Long, Long> histogram(java.util.Collection<Duration> gaps) {
    return gaps.stream()
        .collect(Collectors.groupingBy(Duration::toSeconds, TreeMap::new, Collectors.counting()));
  }

  private static String describe(Map<Node, Set<String>> hosted) {
    return hosted.entrySet().stream()
        .map(e -> e.getKey().name + "=" + e.getValue().size())
        .collect(Collectors.joining(", "));
  }

  private static Map<String, Long> countBy(java.util.Collection<Node> nodes) {
    return nodes.stream()
        .collect(Collectors.groupingBy(n -> n.name, TreeMap::new, Collectors.counting()));
  }

  private static long millisSince(Instant start) {
    return Duration.between(start, Instant.now()).toMillis();
  }
}
