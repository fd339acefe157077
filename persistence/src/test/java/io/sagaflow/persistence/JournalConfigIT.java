package io.sagaflow.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.persistence.testing.TestDatabase;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.ActorRef;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.Props;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.persistence.AbstractPersistentActor;
import org.apache.pekko.persistence.SaveSnapshotFailure;
import org.apache.pekko.persistence.SaveSnapshotSuccess;
import org.apache.pekko.persistence.SnapshotOffer;
import org.apache.pekko.persistence.jdbc.db.SlickExtension;
import org.apache.pekko.persistence.jdbc.db.SlickExtensionImpl;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.jdbc.state.javadsl.JdbcDurableStateStore;
import org.apache.pekko.persistence.journal.Tagged;
import org.apache.pekko.persistence.query.EventEnvelope;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.state.DurableStateStoreRegistry;
import org.apache.pekko.stream.javadsl.Sink;
import org.junit.jupiter.api.Test;
import org.postgresql.core.BaseConnection;

/** The migrated schema and {@link JournalConfig} together, driven by real Pekko persistence. */
class JournalConfigIT {

  private static final Duration TIMEOUT = Duration.ofSeconds(20);
  private static final String TAG = "sagaflow-test";
  private static final String OTHER_TAG = "sagaflow-other";

  @Test
  void journalSnapshotsQueriesAndDurableStateWorkOnTheMigratedSchema() throws Exception {
    TestDatabase db = TestDatabase.fresh();
    Config config =
        quickTagQueries(
            db,
            "pekko.loggers = [\"org.apache.pekko.event.slf4j.Slf4jLogger\"]\n"
                + "pekko.logging-filter = \"org.apache.pekko.event.slf4j.Slf4jLoggingFilter\"\n"
                + "pekko.loglevel = INFO");

    ActorSystem first = ActorSystem.create("journal-first", config);
    try {
      ActorRef recorder = first.actorOf(Props.create(Recorder.class, "recorder-1"));
      assertThat(ask(recorder, "a")).isEqualTo("persisted a");
      assertThat(ask(recorder, "b")).isEqualTo("persisted b");
      assertThat(ask(recorder, Recorder.SNAPSHOT)).isEqualTo("snapshot saved");
      assertThat(ask(recorder, "c")).isEqualTo("persisted c");

      JdbcReadJournal readJournal =
          PersistenceQuery.get(first)
              .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
      List<EventEnvelope> tagged =
          readJournal
              .currentEventsByTag(TAG, Offset.noOffset())
              .runWith(Sink.seq(), first)
              .toCompletableFuture()
              .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
      assertThat(tagged).extracting(EventEnvelope::event).containsExactly("a", "b", "c");

      @SuppressWarnings("unchecked")
      JdbcDurableStateStore<String> states =
          DurableStateStoreRegistry.get(first)
              .getDurableStateStoreFor(
                  JdbcDurableStateStore.class, JdbcDurableStateStore.Identifier());
      states
          .upsertObject("state-1", 1L, "hello", TAG)
          .toCompletableFuture()
          .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);

      // The journal's pool is the shared one, and the driver got reWriteBatchedInserts ...
      SlickExtensionImpl slick = (SlickExtensionImpl) SlickExtension.get(first);
      try (Connection c =
          slick
              .database(first.settings().config().getConfig("jdbc-journal"))
              .database()
              .source()
              .createConnection()) {
        BaseConnection pg = c.unwrap(BaseConnection.class);
        assertThat(pg.getQueryExecutor().isReWriteBatchedInsertsEnabled()).isTrue();
        // ... and the socket timeout of sagaflow.db.socket-timeout (30 s).
        assertThat(c.getNetworkTimeout()).isEqualTo(30_000);
        assertThat(c.getMetaData().getURL()).isEqualTo(db.jdbcUrl());
      }
    } finally {
      terminate(first);
    }

    assertThat(db.count("SELECT count(*) FROM event_journal")).isEqualTo(3);
    assertThat(db.count("SELECT count(*) FROM event_tag WHERE tag = '" + TAG + "'")).isEqualTo(3);
    assertThat(db.count("SELECT count(*) FROM snapshot")).isEqualTo(1);
    assertThat(db.count("SELECT count(*) FROM durable_state")).isEqualTo(1);

    ActorSystem second = ActorSystem.create("journal-second", config);
    try {
      ActorRef recovered = second.actorOf(Props.create(Recorder.class, "recorder-1"));
      assertThat(ask(recovered, Recorder.STATE)).isEqualTo(List.of("a", "b", "c"));
    } finally {
      terminate(second);
    }
  }

  /**
   * Every new persistent actor first asks the journal for its highest sequence number;
   * BatchingJournalDao answers many such requests with one query. Sixty actors with 0 to 3 events
   * each recover at once, and each must carry on right after its own last event.
   */
  @Test
  void actorsRecoveringAtOnceEachContinueAfterTheirOwnLastEvent() throws Exception {
    TestDatabase db = TestDatabase.fresh();
    Config config = db.journalConfig().withFallback(ConfigFactory.load());
    assertThat(config.getString("jdbc-journal.dao")).isEqualTo(BatchingJournalDao.class.getName());
    int actors = 60;

    ActorSystem first = ActorSystem.create("journal-batch-first", config);
    try {
      var written = new ArrayList<java.util.concurrent.CompletableFuture<Object>>();
      for (int i = 0; i < actors; i++) {
        ActorRef recorder = first.actorOf(Props.create(Recorder.class, "many-" + i));
        for (int e = 0; e < i % 4; e++) {
          written.add(Patterns.ask(recorder, "e" + e, TIMEOUT).toCompletableFuture());
        }
      }
      for (var w : written) {
        assertThat(w.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS)).asString().startsWith("persisted");
      }
    } finally {
      terminate(first);
    }

    ActorSystem second = ActorSystem.create("journal-batch-second", config);
    try {
      var next = new ArrayList<java.util.concurrent.CompletableFuture<Object>>();
      var recorders = new ArrayList<ActorRef>();
      for (int i = 0; i < actors; i++) {
        ActorRef recorder = second.actorOf(Props.create(Recorder.class, "many-" + i));
        recorders.add(recorder);
        next.add(Patterns.ask(recorder, "next", TIMEOUT).toCompletableFuture());
      }
      for (int i = 0; i < actors; i++) {
        assertThat(next.get(i).get(TIMEOUT.toSeconds(), TimeUnit.SECONDS))
            .isEqualTo("persisted next");
        var expected = new ArrayList<String>();
        for (int e = 0; e < i % 4; e++) {
          expected.add("e" + e);
        }
        expected.add("next");
        assertThat(ask(recorders.get(i), Recorder.STATE)).as("many-" + i).isEqualTo(expected);
      }
    } finally {
      terminate(second);
    }
    for (int i = 0; i < actors; i++) {
      assertThat(
              db.scalar(
                  "SELECT string_agg(sequence_number::text, ',' ORDER BY sequence_number)"
                      + " FROM event_journal WHERE persistence_id = 'many-"
                      + i
                      + "'"))
          .as("many-" + i)
          .isEqualTo(
              String.join(
                  ",",
                  java.util.stream.IntStream.rangeClosed(1, i % 4 + 1)
                      .mapToObj(Integer::toString)
                      .toList()));
    }
  }

  /**
   * The journal configuration of {@code db} with {@code extra}, polling for new events quickly: tag
   * queries wait for the journal's ordering sequence, whose default poll is 1 s.
   */
  private static Config quickTagQueries(TestDatabase db, String extra) {
    return db.journalConfig()
        .withFallback(ConfigFactory.parseString(extra))
        .withFallback(
            ConfigFactory.parseString(
                "jdbc-read-journal.journal-sequence-retrieval.query-delay = 50ms\n"
                    + "jdbc-read-journal.refresh-interval = 100ms"))
        .withFallback(ConfigFactory.load());
  }

  private static Object ask(ActorRef actor, Object message) throws Exception {
    return Patterns.ask(actor, message, TIMEOUT)
        .toCompletableFuture()
        .get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
  }

  private static void terminate(ActorSystem system) throws Exception {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
  }

  /**
   * Events by tag come from TagRangeReadJournalDao's own query: only the tag's rows, after the
   * offset, up to the journal's gap-free maximum, in ordering, a page (max-buffer-size) at a time,
   * without logically deleted rows.
   */
  @Test
  void eventsByTagReadsOneTagAfterTheOffsetPageByPage() throws Exception {
    TestDatabase db = TestDatabase.fresh();
    Config config = quickTagQueries(db, "jdbc-read-journal.max-buffer-size = 2");
    assertThat(config.getString("jdbc-read-journal.dao"))
        .isEqualTo(TagRangeReadJournalDao.class.getName());

    ActorSystem system = ActorSystem.create("journal-tags", config);
    try {
      ActorRef recorder = system.actorOf(Props.create(Recorder.class, "ranged"));
      for (String event : List.of("a", "x-1", "b", "c", "x-2", "d", "e")) {
        assertThat(ask(recorder, event)).isEqualTo("persisted " + event);
      }
      JdbcReadJournal readJournal =
          PersistenceQuery.get(system)
              .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());

      List<EventEnvelope> all = byTag(system, readJournal, TAG, Offset.noOffset(), 5);
      assertThat(all).extracting(EventEnvelope::event).containsExactly("a", "b", "c", "d", "e");
      assertThat(all).extracting(EventEnvelope::sequenceNr).containsExactly(1L, 3L, 4L, 6L, 7L);
      assertThat(byTag(system, readJournal, OTHER_TAG, Offset.noOffset(), 2))
          .extracting(EventEnvelope::event)
          .containsExactly("x-1", "x-2");
      assertThat(byTag(system, readJournal, TAG, all.get(1).offset(), 3))
          .extracting(EventEnvelope::event)
          .containsExactly("c", "d", "e");

      db.execute("UPDATE event_journal SET deleted = true WHERE sequence_number = 6");
      assertThat(byTag(system, readJournal, TAG, Offset.noOffset(), 4))
          .extracting(EventEnvelope::event)
          .containsExactly("a", "b", "c", "e");
    } finally {
      terminate(system);
    }
  }

  /**
   * The tag's events after {@code offset}, once the journal's sequence has caught up with all
   * {@code expected} of them (before that, a current query may end early).
   */
  private static List<EventEnvelope> byTag(
      ActorSystem system, JdbcReadJournal readJournal, String tag, Offset offset, int expected) {
    return Eventually.await(
        expected + " events tagged " + tag,
        TIMEOUT,
        () -> {
          List<EventEnvelope> events =
              readJournal
                  .currentEventsByTag(tag, offset)
                  .runWith(Sink.seq(), system)
                  .toCompletableFuture()
                  .join();
          return events.size() >= expected ? events : null;
        });
  }

  /**
   * The journal rejects a write whose event cannot be serialized, alone: the actor is told, keeps
   * running, and its next write is stored; nothing of the rejected one is. (Untagged writes go
   * through BatchingJournalDao's own writer.)
   */
  @Test
  void anEventThatCannotBeSerializedIsRejectedAloneAndNothingIsWritten() throws Exception {
    TestDatabase db = TestDatabase.fresh();
    Config config = db.journalConfig().withFallback(ConfigFactory.load());
    ActorSystem system = ActorSystem.create("journal-reject", config);
    try {
      ActorRef recorder = system.actorOf(Props.create(Recorder.class, "rejecting"));
      assertThat(ask(recorder, "untagged:a")).isEqualTo("persisted untagged:a");
      assertThat(ask(recorder, Recorder.UNSERIALIZABLE)).asString().startsWith("rejected");
      assertThat(ask(recorder, "untagged:b")).isEqualTo("persisted untagged:b");
      assertThat(ask(recorder, Recorder.STATE)).isEqualTo(List.of("untagged:a", "untagged:b"));
    } finally {
      terminate(system);
    }
    assertThat(
            db.scalar(
                "SELECT string_agg(sequence_number::text, ',' ORDER BY sequence_number)"
                    + " FROM event_journal WHERE persistence_id = 'rejecting'"))
        .isEqualTo("1,3"); // the rejected event's sequence number stays unused, as in Pekko
  }

  /**
   * Persists every string it receives, tagged unless it starts with {@code untagged:}; answers its
   * recovered state.
   */
  static final class Recorder extends AbstractPersistentActor {
    static final String STATE = "?state";
    static final String SNAPSHOT = "?snapshot";
    static final String UNSERIALIZABLE = "?unserializable";
    private ActorRef rejectionRequester = ActorRef.noSender();

    private final String persistenceId;
    private final List<String> events = new ArrayList<>();
    private ActorRef snapshotRequester = ActorRef.noSender();

    Recorder(String persistenceId) {
      this.persistenceId = persistenceId;
    }

    @Override
    public String persistenceId() {
      return persistenceId;
    }

    @Override
    public void onPersistRejected(Throwable cause, Object event, long seqNr) {
      rejectionRequester.tell("rejected #" + seqNr + ": " + cause, getSelf());
    }

    @Override
    public Receive createReceiveRecover() {
      return receiveBuilder()
          .match(
              SnapshotOffer.class,
              offer -> events.addAll(List.of(((String) offer.snapshot()).split(","))))
          .match(String.class, events::add)
          .build();
    }

    @Override
    public Receive createReceive() {
      return receiveBuilder()
          .matchEquals(STATE, m -> getSender().tell(List.copyOf(events), getSelf()))
          .matchEquals(
              SNAPSHOT,
              m -> {
                snapshotRequester = getSender();
                saveSnapshot(String.join(",", events));
              })
          .match(
              SaveSnapshotSuccess.class, m -> snapshotRequester.tell("snapshot saved", getSelf()))
          .match(
              SaveSnapshotFailure.class,
              m -> snapshotRequester.tell("snapshot failed: " + m.cause(), getSelf()))
          .matchEquals(
              UNSERIALIZABLE,
              m -> {
                rejectionRequester = getSender();
                persist(new Object(), persisted -> getSender().tell("persisted?!", getSelf()));
              })
          .match(
              String.class,
              event -> event.startsWith("untagged:"),
              event ->
                  persist(
                      event,
                      persisted -> {
                        events.add(event);
                        getSender().tell("persisted " + event, getSelf());
                      }))
          .match(
              String.class,
              event ->
                  persist(
                      new Tagged(event, Set.of(event.startsWith("x-") ? OTHER_TAG : TAG)),
                      persisted -> {
                        events.add(event);
                        getSender().tell("persisted " + event, getSelf());
                      }))
          .build();
    }
  }
}
