package io.sagaflow.persistence.index;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaEngine;
import io.sagaflow.orchestrator.SagaEntity;
import io.sagaflow.orchestrator.SagaRegistry;
import io.sagaflow.orchestrator.SagaReplies;
import io.sagaflow.orchestrator.SagaSerializable;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepRejectedException;
import io.sagaflow.orchestrator.history.SagaHistory;
import io.sagaflow.orchestrator.internal.ParticipantClient;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.ScriptedSteps;
import io.sagaflow.persistence.testing.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.apache.pekko.Done;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.Join;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.projection.ProjectionId;
import org.apache.pekko.projection.javadsl.ProjectionManagement;
import org.junit.jupiter.api.Test;

/**
 * The index projection on a one-node cluster over real PostgreSQL, fed by real saga entities whose
 * steps are scripted local functions.
 */
class SagaIndexProjectionIT {

  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final String OFFSETS =
      "SELECT string_agg(projection_key || '=' || current_offset, ',' ORDER BY projection_key)"
          + " FROM pekko_projection_offset_store WHERE projection_name = 'saga-index'";
  private static final String ROWS =
      "SELECT string_agg(saga_id || ' ' || type || ' ' || version || ' ' || status || ' '"
          + " || created_at || ' ' || updated_at || ' ' || coalesce(failure, '-') || ' '"
          + " || coalesce(status_before_failure, '-') || ' ' || seq_nr, E'\\n' ORDER BY saga_id)"
          + " FROM saga_index";

  private final ScriptedSteps script = new ScriptedSteps();
  private final SagaDefinition<?> order =
      SagaDefinition.builder("order")
          .defaultTimeout(Duration.ofSeconds(30))
          .step(
              Step.named("reserve")
                  .invoke(script.action("reserve"))
                  .compensateWith(script.compensation("reserve")))
          .step(Step.named("charge").invoke(script.action("charge")).noCompensation())
          .build();
  private final ParticipantClient noHttp =
      request -> CompletableFuture.failedFuture(new AssertionError("no HTTP in this test"));

  @Test
  void everyStatusChangeReachesTheIndexWithItsOffsetInTheSameTransaction() throws Exception {
    TestDatabase db = TestDatabase.fresh();
    try (Node node = new Node(db, "index-statuses");
        SagaIndex index = SagaIndex.connect(db.settings(), settings())) {
      SagaEngine engine = SagaEngine.init(node.system(), SagaRegistry.of(order), noHttp);
      SagaIndexProjection.init(node.system(), db.settings());

      start(engine, "done-1");
      assertThat(awaitIndexed(index, "done-1", SagaStatus.RUNNING).type()).isEqualTo("order");
      action("done-1", "reserve", 1).succeed();
      action("done-1", "charge", 1).succeed();
      awaitIndexed(index, "done-1", SagaStatus.COMPLETED);
      // Nothing else was written to its tag: the last transaction of the tag's projection wrote
      // both the row and the offset, which points at the saga's last event.
      String tag = SagaHistory.indexTag("done-1");
      String offsetRow = " FROM pekko_projection_offset_store WHERE projection_key = '" + tag + "'";
      assertThat(db.scalar("SELECT current_offset" + offsetRow))
          .isEqualTo(
              db.scalar(
                  "SELECT max(ordering) FROM event_journal WHERE persistence_id = 'saga|done-1'"));
      assertThat(db.scalar("SELECT xmin" + offsetRow))
          .isEqualTo(db.scalar("SELECT xmin FROM saga_index WHERE saga_id = 'done-1'"));
      // The management table is the dialect's too: pausing writes it, and the projection resumes.
      ProjectionManagement management = ProjectionManagement.get(node.system());
      ProjectionId id = ProjectionId.of(SagaIndexProjection.PROJECTION_NAME, tag);
      management.pause(id).toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertThat(
              db.scalar(
                  "SELECT paused FROM pekko_projection_management WHERE projection_key = '"
                      + tag
                      + "'"))
          .isEqualTo("t");
      management.resume(id).toCompletableFuture().get(10, TimeUnit.SECONDS);

      start(engine, "undone-1");
      action("undone-1", "reserve", 1).succeed();
      action("undone-1", "charge", 1).fail(new StepRejectedException("card declined"));
      assertThat(awaitIndexed(index, "undone-1", SagaStatus.COMPENSATING).failure())
          .startsWith("step 'charge' was rejected")
          .endsWith("card declined");
      compensation("undone-1", "reserve", 1).succeed();
      awaitIndexed(index, "undone-1", SagaStatus.COMPENSATED);

      start(engine, "stuck-1");
      action("stuck-1", "reserve", 1).succeed();
      action("stuck-1", "charge", 1).fail(new StepRejectedException("card declined"));
      compensation("stuck-1", "reserve", 1).fail(new StepRejectedException("already shipped"));
      assertThat(awaitIndexed(index, "stuck-1", SagaStatus.FAILED).failure())
          .startsWith("compensation of step 'reserve' was rejected")
          .endsWith("already shipped");
      assertThat(engine.resume("stuck-1", "cmd-1").toCompletableFuture().get(10, TimeUnit.SECONDS))
          .isInstanceOf(SagaReplies.Done.class);
      awaitIndexed(index, "stuck-1", SagaStatus.COMPENSATING);
      compensation("stuck-1", "reserve", 2).succeed();
      // The Resume cancels the FAILED saga's pending passivation (SagaEntity.drive). But when that
      // timer has just fired, the shard may already be stopping the saga as the Resume reaches
      // it: the stop then loses the reply of the compensation the Resume started, and on one node
      // only the recovery sweep (non-terminal in the index → Wake) brings the saga back. The loop
      // does what the sweep would, so that the test does not depend on that narrow race (it
      // passed 3 of 3 runs without the wake-up).
      Eventually.until(
          "stuck-1 COMPENSATED in the index",
          WAIT,
          () -> {
            script.calls().stream()
                .filter(c -> c.sagaId().equals("stuck-1") && !c.result().isDone())
                .forEach(ScriptedSteps.Call::succeed);
            if (index.nonTerminal(10, Optional.empty(), Instant.now()).contains("stuck-1")) {
              engine.wake("stuck-1");
            }
            return index.find("stuck-1").orElseThrow().status() == SagaStatus.COMPENSATED;
          });

      assertThat(
              index
                  .list(
                      Optional.of("order"),
                      Optional.of(SagaStatus.COMPENSATED),
                      10,
                      Optional.empty())
                  .items())
          .extracting(SagaIndex.Row::sagaId)
          .containsExactly("stuck-1", "undone-1");
      assertThat(index.list(Optional.empty(), Optional.empty(), 2, Optional.empty()))
          .satisfies(
              p ->
                  assertThat(p.items())
                      .extracting(SagaIndex.Row::sagaId)
                      .containsExactly("stuck-1", "undone-1"))
          .satisfies(p -> assertThat(p.nextCursor()).isPresent());
      assertThat(index.nonTerminal(10, Optional.empty(), Instant.now())).isEmpty();
    }
  }

  @Test
  void eventTheIndexDoesNotKnowIsSkippedAndTheTagMovesOn() throws Exception {
    TestDatabase db = TestDatabase.fresh();
    try (Node node = new Node(db, "index-future");
        SagaIndex index = SagaIndex.connect(db.settings(), settings())) {
      SagaEngine engine = SagaEngine.init(node.system(), SagaRegistry.of(order), noHttp);
      SagaIndexProjection.init(node.system(), db.settings());
      TestProbe<Done> written = node.kit().createTestProbe();
      node.kit().spawn(new NewerSaga("future-1")).tell(new NewerSaga.Write(written.ref()));
      written.expectMessage(WAIT, Done.getInstance());

      String sameTag = idWithTagOf("future-1", "after-future-");
      start(engine, sameTag);

      awaitIndexed(index, sameTag, SagaStatus.RUNNING);
      assertThat(index.find("future-1")).isEmpty();
      assertThat(index.nonTerminal(10, Optional.empty(), Instant.now())).containsExactly(sameTag);
    }
  }

  @Test
  void rowAndOffsetCommitOrRollBackTogether() throws Exception {
    TestDatabase db = TestDatabase.fresh();
    String sagaId = "atomic-1";
    // Every write of this saga's tag's offset fails, after the handler has written the row; a
    // sequence (not transactional) counts the attempts.
    db.execute("CREATE SEQUENCE offset_write_attempts");
    db.execute(
        "CREATE FUNCTION refuse_offset() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            + " IF NEW.projection_key = '"
            + SagaHistory.indexTag(sagaId)
            + "' THEN PERFORM nextval('offset_write_attempts');"
            + " RAISE EXCEPTION 'offset store refuses writes (test)'; END IF;"
            + " RETURN NEW; END $$");
    db.execute(
        "CREATE TRIGGER refuse_offset BEFORE INSERT OR UPDATE ON pekko_projection_offset_store"
            + " FOR EACH ROW EXECUTE FUNCTION refuse_offset()");
    try (Node node = new Node(db, "index-atomic");
        SagaIndex index = SagaIndex.connect(db.settings(), settings())) {
      SagaEngine engine = SagaEngine.init(node.system(), SagaRegistry.of(order), noHttp);
      SagaIndexProjection.init(node.system(), db.settings());
      start(engine, sagaId);

      Eventually.until(
          "two failed attempts to store the offset",
          WAIT,
          () ->
              db.count(
                      "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM offset_write_attempts")
                  >= 2);
      assertThat(index.find(sagaId)).isEmpty();

      db.execute("DROP TRIGGER refuse_offset ON pekko_projection_offset_store");

      awaitIndexed(index, sagaId, SagaStatus.RUNNING);
      assertThat(db.count("SELECT count(*) FROM saga_index")).isEqualTo(1);
    }
  }

  @Test
  void replayChangesNothingAndAnEmptiedIndexIsRebuiltFromTheJournal() throws Exception {
    TestDatabase db = TestDatabase.fresh();
    try (Node node = new Node(db, "index-first");
        SagaIndex index = SagaIndex.connect(db.settings(), settings())) {
      SagaEngine engine = SagaEngine.init(node.system(), SagaRegistry.of(order), noHttp);
      SagaIndexProjection.init(node.system(), db.settings());
      start(engine, "b-done");
      action("b-done", "reserve", 1).succeed();
      action("b-done", "charge", 1).succeed();
      start(engine, "b-rejected");
      action("b-rejected", "reserve", 1).fail(new StepRejectedException("out of stock"));
      start(engine, "b-stuck");
      action("b-stuck", "reserve", 1).succeed();
      action("b-stuck", "charge", 1).fail(new StepRejectedException("card declined"));
      compensation("b-stuck", "reserve", 1).fail(new StepRejectedException("already shipped"));
      start(engine, "b-running");
      awaitIndexed(index, "b-done", SagaStatus.COMPLETED);
      awaitIndexed(index, "b-rejected", SagaStatus.COMPENSATED);
      awaitIndexed(index, "b-stuck", SagaStatus.FAILED);
      awaitIndexed(index, "b-running", SagaStatus.RUNNING);
    }
    String rows = db.scalar(ROWS);
    String rowsWithWriters = db.scalar(ROWS.replace("|| seq_nr", "|| seq_nr || ' ' || xmin"));
    String offsets = db.scalar(OFFSETS);
    assertThat(rows).contains("b-stuck order 1 FAILED").contains("COMPENSATING 4");

    // Replay: every event again, over rows that already have them.
    db.execute("DELETE FROM pekko_projection_offset_store");
    try (Node node = new Node(db, "index-replay")) {
      SagaIndexProjection.init(node.system(), db.settings());
      Eventually.until("offsets restored", WAIT, () -> offsets.equals(db.scalar(OFFSETS)));
    }
    assertThat(db.scalar(ROWS.replace("|| seq_nr", "|| seq_nr || ' ' || xmin")))
        .as("rows, not even rewritten")
        .isEqualTo(rowsWithWriters);

    // Rebuild: the rows are gone, the offsets are not.
    db.execute("TRUNCATE saga_index");
    try (Node node = new Node(db, "index-rebuild")) {
      SagaIndexProjection.init(node.system(), db.settings());
      Eventually.until("index rebuilt", WAIT, () -> rows.equals(db.scalar(ROWS)));
      Eventually.until("offsets restored", WAIT, () -> offsets.equals(db.scalar(OFFSETS)));
    }
  }

  // ---- helpers --------------------------------------------------------------------------------

  private static SagaIndexSettings settings() {
    return SagaIndexSettings.fromConfig(ConfigFactory.load());
  }

  private static void start(SagaEngine engine, String sagaId) throws Exception {
    CompletionStage<SagaReplies.StartReply> reply =
        engine.start(
            sagaId, "order", null, JsonNodeFactory.instance.objectNode().put("id", sagaId));
    assertThat(reply.toCompletableFuture().get(10, TimeUnit.SECONDS))
        .isInstanceOf(SagaReplies.Accepted.class);
  }

  private ScriptedSteps.Call action(String sagaId, String step, int attempt) {
    return script.await(
        c ->
            c.sagaId().equals(sagaId)
                && !c.compensation()
                && c.step().equals(step)
                && c.attempt() == attempt,
        1,
        WAIT);
  }

  private ScriptedSteps.Call compensation(String sagaId, String step, int attempt) {
    return script.await(
        c ->
            c.sagaId().equals(sagaId)
                && c.compensation()
                && c.step().equals(step)
                && c.attempt() == attempt,
        1,
        WAIT);
  }

  private static SagaIndex.Row awaitIndexed(SagaIndex index, String sagaId, SagaStatus status) {
    return Eventually.await(
        sagaId + " " + status + " in the index",
        WAIT,
        () -> index.find(sagaId).filter(r -> r.status() == status).orElse(null));
  }

  private static String idWithTagOf(String sagaId, String prefix) {
    String tag = SagaHistory.indexTag(sagaId);
    return IntStream.range(0, 100)
        .mapToObj(i -> prefix + i)
        .filter(id -> SagaHistory.indexTag(id).equals(tag))
        .findFirst()
        .orElseThrow();
  }

  /** A one-node cluster on the test database, with the index settings of reference.conf. */
  private record Node(ActorTestKit kit) implements AutoCloseable {

    Node(TestDatabase db, String name) {
      this(ActorTestKit.create(name, config(db)));
      Cluster cluster = Cluster.get(kit.system());
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
      Eventually.until(
          "cluster up", WAIT, () -> cluster.selfMember().status() == MemberStatus.up());
    }

    ActorSystem<Void> system() {
      return kit.system();
    }

    @Override
    public void close() {
      kit.shutdownTestKit();
    }

    private static Config config(TestDatabase db) {
      return db.journalConfig()
          .withFallback(
              ConfigFactory.parseString(
                  """
                  pekko.actor.provider = cluster
                  pekko.remote.artery.canonical.hostname = "127.0.0.1"
                  pekko.remote.artery.canonical.port = 0
                  pekko.cluster.jmx.multi-mbeans-in-same-jvm = on
                  pekko.loggers = ["org.apache.pekko.event.slf4j.Slf4jLogger"]
                  pekko.logging-filter = "org.apache.pekko.event.slf4j.Slf4jLoggingFilter"
                  pekko.loglevel = INFO
                  # A failed projection restarts after 3 s by default.
                  pekko.projection.restart-backoff.min-backoff = 100ms
                  pekko.projection.restart-backoff.max-backoff = 500ms
                  """))
          .withFallback(ConfigFactory.load());
    }
  }

  /** An event of a newer Sagaflow version that this one has no handling for. */
  public record SagaArchived(String reason, Instant at) implements SagaSerializable {}

  /** Stands for a newer version's saga entity: writes an unknown event with the index tag. */
  private static final class NewerSaga
      extends EventSourcedBehavior<NewerSaga.Write, SagaArchived, String> {

    record Write(ActorRef<Done> replyTo) {}

    private final String tag;

    NewerSaga(String sagaId) {
      super(PersistenceId.of(SagaEntity.ENTITY_TYPE_KEY.name(), sagaId, "|"));
      this.tag = SagaHistory.indexTag(sagaId);
    }

    @Override
    public String emptyState() {
      return "";
    }

    @Override
    public CommandHandler<Write, SagaArchived, String> commandHandler() {
      return newCommandHandlerBuilder()
          .forAnyState()
          .onCommand(
              Write.class,
              cmd ->
                  Effect()
                      .persist(new SagaArchived("retention", Instant.now()))
                      .thenRun(s -> cmd.replyTo().tell(Done.getInstance())))
          .build();
    }

    @Override
    public EventHandler<String, SagaArchived> eventHandler() {
      return newEventHandlerBuilder().forAnyState().onAnyEvent((state, e) -> e.reason());
    }

    @Override
    public Set<String> tagsFor(SagaArchived event) {
      return Set.of(tag);
    }
  }
}
