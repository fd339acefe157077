package io.sagaflow.persistence;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagaflow.orchestrator.SagaEntity;
import io.sagaflow.orchestrator.SagaState;
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

  private final DataSource dataSource;
  private final Serialization serialization;
  private final ObjectMapper json = new ObjectMapper();

  public SagaJournal(DataSource dataSource, Serialization serialization) {
    this.dataSource = dataSource;
    this.serialization = serialization;
  }

  /** One persisted event: its position, when it was written, its type name and its JSON. */
  public record StoredEvent(
      long sequenceNr, Instant writtenAt, String type, JsonNode payload, SagaEntity.Event event) {}

  /** The saga's events, oldest first; empty when no saga has this id. */
  public List<StoredEvent> events(String sagaId) {
    var events = new ArrayList<StoredEvent>();
    try (Connection connection = dataSource.getConnection();
        PreparedStatement statement = connection.prepareStatement(SELECT)) {
      statement.setString(1, persistenceId(sagaId));
      try (ResultSet rows = statement.executeQuery()) {
        while (rows.next()) {
          byte[] payload = rows.getBytes(5);
          String manifest = rows.getString(4);
          Object event = serialization.deserialize(payload, rows.getInt(3), manifest).get();
          events.add(
              new StoredEvent(
                  rows.getLong(1),
                  Instant.ofEpochMilli(rows.getLong(2)),
                  event.getClass().getSimpleName(),
                  readJson(payload),
                  (SagaEntity.Event) event));
        }
      }
    } catch (SQLException e) {
      throw new IndexUnavailableException("journal read failed for saga " + sagaId, e);
    }
    return events;
  }

  /** The saga's state folded from its events, as the entity would recover it. */
  public Optional<SagaState.Active> state(String sagaId) {
    SagaState state = new SagaState.Empty();
    for (StoredEvent e : events(sagaId)) {
      state = state.apply(e.event());
    }
    return state instanceof SagaState.Active active ? Optional.of(active) : Optional.empty();
  }

  private JsonNode readJson(byte[] payload) {
    try {
      return json.readTree(payload);
    } catch (IOException e) {
      return json.getNodeFactory().textNode("(not JSON)");
    }
  }

  private static String persistenceId(String sagaId) {
    return SagaEntity.ENTITY_TYPE_KEY.name() + "|" + sagaId;
  }
}
