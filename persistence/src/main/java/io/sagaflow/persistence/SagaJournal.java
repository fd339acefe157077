package io.sagaflow.persistence;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagaflow.orchestrator.history.EventType;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaHistory;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import io.sagaflow.persistence.index.IndexUnavailableException;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;
import org.apache.pekko.serialization.Serialization;

/**
 * Reads one saga's history straight from the journal: what the API shows of a saga is exactly what
 * was written, and reading it neither wakes the saga nor writes anything.
 */
public final class SagaJournal {
  private static final String SELECT =
      "select sequence_number, write_timestamp, event_ser_id, event_ser_manifest, event_payload"
          + " from event_journal where persistence_id = ? and not deleted order by sequence_number";

  private static final String FIRST =
      "select event_ser_id, event_ser_manifest, event_payload from event_journal"
          + " where persistence_id = ? and not deleted order by sequence_number limit 1";

  private static final String EXISTS =
      "select 1 from event_journal where persistence_id = ? and not deleted limit 1";

  private final DataSource dataSource;
  private final Serialization serialization;
  private final ObjectMapper json = new ObjectMapper();

  public SagaJournal(DataSource dataSource, Serialization serialization) {
    this.dataSource = dataSource;
    this.serialization = serialization;
  }

  /** One persisted event: its position, when it was written, its public type, its JSON. */
  public record StoredEvent(
      long sequenceNr, Instant writtenAt, EventType type, JsonNode payload, SagaEvent event) {}

  /** The saga's events, oldest first; empty when no saga has this id. */
  public List<StoredEvent> events(String sagaId) {
    var events = new ArrayList<StoredEvent>();
    try (Connection connection = dataSource.getConnection();
        PreparedStatement statement = connection.prepareStatement(SELECT)) {
      statement.setString(1, SagaHistory.persistenceId(sagaId).id());
      try (ResultSet rows = statement.executeQuery()) {
        while (rows.next()) {
          byte[] payload = rows.getBytes(5);
          var event =
              (SagaEvent)
                  serialization.deserialize(payload, rows.getInt(3), rows.getString(4)).get();
          events.add(
              new StoredEvent(
                  rows.getLong(1),
                  Instant.ofEpochMilli(rows.getLong(2)),
                  EventType.of(event),
                  readJson(payload),
                  event));
        }
      }
    } catch (SQLException e) {
      throw new IndexUnavailableException("journal read failed for saga " + sagaId, e);
    }
    return events;
  }

  /** The saga as its events leave it, folded as the entity recovers it. */
  public Optional<SagaSnapshot.Started> snapshot(String sagaId) {
    return SagaHistory.fold(events(sagaId).stream().map(StoredEvent::event).toList());
  }

  /** How the saga started: its first event; empty when no saga has this id. */
  public Optional<SagaEvent.SagaStarted> start(String sagaId) {
    try (Connection connection = dataSource.getConnection();
        PreparedStatement statement = connection.prepareStatement(FIRST)) {
      statement.setString(1, SagaHistory.persistenceId(sagaId).id());
      try (ResultSet rows = statement.executeQuery()) {
        if (!rows.next()) {
          return Optional.empty();
        }
        Object event =
            serialization.deserialize(rows.getBytes(3), rows.getInt(1), rows.getString(2)).get();
        return event instanceof SagaEvent.SagaStarted started
            ? Optional.of(started)
            : Optional.empty();
      }
    } catch (SQLException e) {
      throw new IndexUnavailableException("journal read failed for saga " + sagaId, e);
    }
  }

  /** Whether a saga with this id has been started; reads one row and deserializes nothing. */
  public boolean exists(String sagaId) {
    try (Connection connection = dataSource.getConnection();
        PreparedStatement statement = connection.prepareStatement(EXISTS)) {
      statement.setString(1, SagaHistory.persistenceId(sagaId).id());
      try (ResultSet rows = statement.executeQuery()) {
        return rows.next();
      }
    } catch (SQLException e) {
      throw new IndexUnavailableException("journal read failed for saga " + sagaId, e);
    }
  }

  private JsonNode readJson(byte[] payload) {
    try {
      return json.readTree(payload);
    } catch (IOException e) {
      return json.getNodeFactory().textNode("(not JSON)");
    }
  }
}
