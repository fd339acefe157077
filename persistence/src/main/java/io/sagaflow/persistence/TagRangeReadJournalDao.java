package io.sagaflow.persistence;

import io.sagaflow.orchestrator.history.SagaHistory;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.NotUsed;
import org.apache.pekko.persistence.PersistentRepr;
import org.apache.pekko.persistence.jdbc.PekkoSerialization;
import org.apache.pekko.persistence.jdbc.config.EventJournalTableColumnNames;
import org.apache.pekko.persistence.jdbc.config.ReadJournalConfig;
import org.apache.pekko.persistence.jdbc.journal.dao.JournalTables;
import org.apache.pekko.persistence.jdbc.query.dao.DefaultReadJournalDao;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.scaladsl.Source;
import scala.Option;
import scala.Tuple2;
import scala.Tuple3;
import scala.collection.immutable.Set;
import scala.concurrent.ExecutionContext;
import scala.concurrent.Future;
import scala.jdk.javaapi.FutureConverters;
import scala.util.Try;
import slick.dbio.DBIOAction;
import slick.jdbc.JdbcBackend;
import slick.jdbc.JdbcProfile;
import slick.jdbc.SimpleJdbcAction;

/**
 * pekko-persistence-jdbc's read-journal DAO with an events-by-tag query whose cost does not grow
 * with the journal. The plugin's query (1.1.1) bounds the offset range on {@code event_journal}
 * only, so PostgreSQL cannot use the {@code (tag, event_id)} index for the range and reads every
 * row of the tag ever written, at every poll of every projection instance
 * (apache/pekko-persistence- jdbc#105, still open). This one bounds {@code event_tag.event_id}
 * itself: an index range scan over the new rows of one tag, joined to the journal by its primary
 * ordering. Same rows, same order, same deserialization ({@link PekkoSerialization#fromRow}).
 * Configured as {@code jdbc-read-journal.dao}.
 *
 * <p>One tag is not in {@code event_tag}: {@link #ALL_SAGA_EVENTS} is every saga event, read from
 * the journal by its ordering alone, so that the event stream and webhooks get every event through
 * the read journal's own events-by-tag machinery (polling, and the journal-sequence actor that
 * holds back orderings whose writes have not committed yet) without a tag row per event on the
 * write path.
 */
public final class TagRangeReadJournalDao extends DefaultReadJournalDao {

  /**
   * The tag of every saga's every event, oldest first by journal ordering: the offset of an event
   * read under it is its ordering, the same on every node.
   */
  public static final String ALL_SAGA_EVENTS = "sagaflow-all-saga-events";

  private static final Set<String> NO_TAGS = scala.collection.immutable.Set$.MODULE$.empty();

  private final JdbcBackend.JdbcDatabaseDef database;
  private final Serialization serialization;
  private final String sql;
  private final String allEventsSql;

  public TagRangeReadJournalDao(
      JdbcBackend.JdbcDatabaseDef db,
      JdbcProfile profile,
      ReadJournalConfig readJournalConfig,
      Serialization serialization,
      ExecutionContext ec,
      Materializer mat) {
    super(db, profile, readJournalConfig, serialization, ec, mat);
    this.database = db;
    this.serialization = serialization;
    this.sql = eventsByTagSql(readJournalConfig);
    this.allEventsSql = allSagaEventsSql(readJournalConfig);
  }

  static String eventsByTagSql(ReadJournalConfig config) {
    var journal = config.eventJournalTableConfiguration();
    var tags = config.eventTagTableConfiguration();
    EventJournalTableColumnNames c = journal.columnNames();
    String columns = columns(c);
    String eventId = "t." + SqlNames.quote(tags.columnNames().eventId());
    return "SELECT "
        + columns
        + " FROM "
        + SqlNames.table(tags.schemaName(), tags.tableName())
        + " t JOIN "
        + SqlNames.table(journal.schemaName(), journal.tableName())
        + " j ON j."
        + SqlNames.quote(c.ordering())
        + " = "
        + eventId
        + " WHERE t."
        + SqlNames.quote(tags.columnNames().tag())
        + " = ? AND "
        + eventId
        + " > ? AND "
        + eventId
        + " <= ? AND NOT j."
        + SqlNames.quote(c.deleted())
        + " ORDER BY "
        + eventId
        + " LIMIT ?";
  }

  /**
   * Every saga event in an ordering range: a range scan of the journal's ordering index. The first
   * parameter is the persistence id pattern of sagas.
   */
  static String allSagaEventsSql(ReadJournalConfig config) {
    var journal = config.eventJournalTableConfiguration();
    EventJournalTableColumnNames c = journal.columnNames();
    String ordering = "j." + SqlNames.quote(c.ordering());
    return "SELECT "
        + columns(c)
        + " FROM "
        + SqlNames.table(journal.schemaName(), journal.tableName())
        + " j WHERE j."
        + SqlNames.quote(c.persistenceId())
        + " LIKE ? AND "
        + ordering
        + " > ? AND "
        + ordering
        + " <= ? AND NOT j."
        + SqlNames.quote(c.deleted())
        + " ORDER BY "
        + ordering
        + " LIMIT ?";
  }

  private static String columns(EventJournalTableColumnNames c) {
    return String.join(
        ", ",
        List.of(
                c.ordering(),
                c.deleted(),
                c.persistenceId(),
                c.sequenceNumber(),
                c.writer(),
                c.writeTimestamp(),
                c.adapterManifest(),
                c.eventPayload(),
                c.eventSerId(),
                c.eventSerManifest(),
                c.metaPayload(),
                c.metaSerId(),
                c.metaSerManifest())
            .stream()
            .map(column -> "j." + SqlNames.quote(column))
            .toList());
  }

  @Override
  @SuppressWarnings({"unchecked", "rawtypes"}) // Slick's run wants Nothing as the effect type.
  public Source<Try<Tuple3<PersistentRepr, Set<String>, Object>>, NotUsed> eventsByTag(
      String tag, long offset, long maxOffset, long max) {
    boolean all = ALL_SAGA_EVENTS.equals(tag);
    DBIOAction<List<Try<Tuple3<PersistentRepr, Set<String>, Object>>>, ?, ?> query =
        new SimpleJdbcAction<>(
            context -> {
              try (PreparedStatement statement =
                  context.connection().prepareStatement(all ? allEventsSql : sql)) {
                statement.setString(1, all ? SagaHistory.ENTITY_TYPE + "|%" : tag);
                statement.setLong(2, offset);
                statement.setLong(3, maxOffset);
                statement.setLong(4, max);
                try (ResultSet rows = statement.executeQuery()) {
                  List<Try<Tuple3<PersistentRepr, Set<String>, Object>>> events = new ArrayList<>();
                  while (rows.next()) {
                    events.add(event(row(rows)));
                  }
                  return events;
                }
              } catch (SQLException e) {
                throw new IllegalStateException("events by tag " + tag + ": " + e.getMessage(), e);
              }
            });
    Future<List<Try<Tuple3<PersistentRepr, Set<String>, Object>>>> events =
        database.run((DBIOAction) query);
    return org.apache.pekko.stream.javadsl.Source.completionStage(FutureConverters.asJava(events))
        .mapConcat(list -> list)
        .asScala();
  }

  /** As the plugin's DAO: deserialized with the plugin's own code, without the row's tags. */
  private Try<Tuple3<PersistentRepr, Set<String>, Object>> event(
      JournalTables.JournalPekkoSerializationRow row) {
    return PekkoSerialization.fromRow(serialization, row)
        .map(
            (Tuple2<PersistentRepr, Object> reprAndOrdering) ->
                new Tuple3<>(reprAndOrdering._1(), NO_TAGS, reprAndOrdering._2()));
  }

  private static JournalTables.JournalPekkoSerializationRow row(ResultSet rows)
      throws SQLException {
    long writeTimestamp = rows.getLong(6);
    byte[] metaPayload = rows.getBytes(11);
    int metaSerId = rows.getInt(12);
    Option<Object> metaSerIdOption = rows.wasNull() ? Option.empty() : Option.apply(metaSerId);
    return new JournalTables.JournalPekkoSerializationRow(
        rows.getLong(1),
        rows.getBoolean(2),
        rows.getString(3),
        rows.getLong(4),
        rows.getString(5),
        writeTimestamp,
        rows.getString(7),
        rows.getBytes(8),
        rows.getInt(9),
        rows.getString(10),
        Option.apply(metaPayload),
        metaSerIdOption,
        Option.apply(rows.getString(13)));
  }
}
