package io.sagaflow.persistence.index;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.persistence.testing.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;

/**
 * Writes saga events to a test database's index the way the projection does, one transaction each,
 * numbering each saga's events like the journal.
 */
final class IndexEvents implements AutoCloseable {

  private final Connection connection;

  IndexEvents(TestDatabase db) {
    try {
      connection = db.connect();
      connection.setAutoCommit(false);
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  void apply(String sagaId, long seqNr, Object event) {
    applyAs("saga|" + sagaId, seqNr, event);
  }

  void applyAs(String persistenceId, long seqNr, Object event) {
    try {
      SagaIndexUpdates.apply(connection, persistenceId, seqNr, event);
      connection.commit();
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Applies a group of events in one transaction, as the projection does. */
  void applyGroup(List<SagaIndexUpdates.Change> group) {
    try {
      SagaIndexUpdates.applyAll(connection, group);
      connection.commit();
    } catch (SQLException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() throws SQLException {
    connection.close();
  }

  static SagaEvent.SagaStarted started(String type, Instant at) {
    return new SagaEvent.SagaStarted(
        type, 1, JsonNodeFactory.instance.objectNode(), "f", "t", null, "reserve", null, at);
  }

  static SagaEvent.StepFailed stepRejected(List<String> compensations, Instant at) {
    return new SagaEvent.StepFailed(
        "charge", 1, "no", false, "step 'charge' was rejected: no", compensations, at);
  }

  static SagaEvent.CompensationFailed compensationRejected(Instant at) {
    return new SagaEvent.CompensationFailed(
        "reserve", 1, "cannot", "compensation of step 'reserve' was rejected: cannot", at);
  }
}
