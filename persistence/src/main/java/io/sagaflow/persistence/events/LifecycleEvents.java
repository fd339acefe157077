package io.sagaflow.persistence.events;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagaflow.orchestrator.history.EventType;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaHistory;
import io.sagaflow.persistence.SagaJournal;
import io.sagaflow.persistence.TagRangeReadJournalDao;
import io.sagaflow.persistence.index.IndexUnavailableException;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import javax.sql.DataSource;
import org.apache.pekko.NotUsed;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.persistence.query.PersistenceQuery;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.stream.javadsl.Source;

/**
 * Every saga's lifecycle events, read from the journal in journal order (so in order per saga)
 * through the read journal's events-by-tag query of {@link TagRangeReadJournalDao#ALL_SAGA_EVENTS}:
 * an event is handed out only once every event before it in the journal has committed or been given
 * up as never written (the plugin's journal-sequence actor), so that a reader that resumes after an
 * offset misses nothing, whichever node wrote what. Events are read through the history contract:
 * their public names from {@link EventType}, their saga's type from its {@code SagaStarted}.
 */
public final class LifecycleEvents {
  private static final String LATEST =
      "select coalesce(max(ordering), 0) from event_journal where persistence_id like '"
          + SagaHistory.ENTITY_TYPE
          + "|%'";

  private final JdbcReadJournal readJournal;
  private final SagaTypes types;
  private final ObjectMapper json;
  private final DataSource dataSource;
  private final Executor blocking;

  /**
   * @param dataSource reads of the journal (the saga types, the latest offset)
   * @param json the mapper that writes events as the API shows them
   * @param blocking where JDBC reads run
   * @param typeCacheSize how many sagas' types to remember
   */
  public LifecycleEvents(
      ActorSystem<?> system,
      DataSource dataSource,
      ObjectMapper json,
      Executor blocking,
      int typeCacheSize) {
    this.readJournal =
        PersistenceQuery.get(system.classicSystem())
            .getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    var journal = new SagaJournal(dataSource, SerializationExtension.get(system));
    this.types = new SagaTypes(journal, blocking, typeCacheSize);
    this.json = json;
    this.dataSource = dataSource;
    this.blocking = blocking;
  }

  /** The events after {@code offset} that {@code filter} accepts, live: the source never ends. */
  public Source<LifecycleEvent, NotUsed> after(long offset, EventFilter filter) {
    return readJournal
        .eventsByTag(TagRangeReadJournalDao.ALL_SAGA_EVENTS, Offset.sequence(offset))
        .filter(e -> accepts(e.event(), filter))
        .mapAsync(
            1,
            e ->
                of(
                    ((Sequence) e.offset()).value(),
                    e.persistenceId(),
                    e.sequenceNr(),
                    e.event(),
                    e.timestamp()))
        .filter(e -> e.isPresent() && filter.acceptsSagaType(e.get().sagaType()))
        .map(Optional::get);
  }

  /** Whether {@code event} is a saga event of a type {@code filter} accepts. */
  public static boolean accepts(Object event, EventFilter filter) {
    if (!(event instanceof SagaEvent sagaEvent)) {
      return false;
    }
    EventType type = EventType.of(sagaEvent);
    return type != null && filter.acceptsEvent(type);
  }

  /**
   * A journal row as a lifecycle event; empty when it is not a saga's event.
   *
   * @param writtenAt milliseconds since the epoch
   */
  public CompletionStage<Optional<LifecycleEvent>> of(
      long offset, String persistenceId, long sequenceNr, Object event, long writtenAt) {
    Optional<String> sagaId = SagaHistory.sagaId(persistenceId);
    if (sagaId.isEmpty() || !(event instanceof SagaEvent sagaEvent)) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    EventType type = EventType.of(sagaEvent);
    if (type == null) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    return types
        .typeOf(sagaId.get(), sagaEvent)
        .thenApply(
            sagaType ->
                Optional.of(
                    new LifecycleEvent(
                        offset,
                        sagaId.get(),
                        sagaType.orElse(null),
                        sequenceNr,
                        type.publicName(),
                        Instant.ofEpochMilli(writtenAt),
                        json.valueToTree(sagaEvent))));
  }

  /** The offset of the newest saga event in the journal (0 when there is none), read off-thread. */
  public CompletionStage<Long> latestOffset() {
    return CompletableFuture.supplyAsync(this::readLatestOffset, blocking);
  }

  private long readLatestOffset() {
    try (Connection connection = dataSource.getConnection();
        Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery(LATEST)) {
      rows.next();
      return rows.getLong(1);
    } catch (SQLException e) {
      throw new IndexUnavailableException("could not read the journal's latest offset", e);
    }
  }
}
