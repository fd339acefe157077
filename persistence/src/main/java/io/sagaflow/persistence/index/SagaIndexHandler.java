package io.sagaflow.persistence.index;

import java.util.ArrayList;
import java.util.List;
import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;

/**
 * Writes a group of events' row changes in the projection's transaction, which also stores the
 * offset of the group's last event. Events are applied in journal order, so that several events of
 * one saga in a group end in its newest status. Envelopes are typed {@code Object}: whatever the
 * tag carries reaches {@link SagaIndexUpdates}, which skips what it does not know instead of
 * failing on a cast.
 */
final class SagaIndexHandler extends JdbcHandler<List<EventEnvelope<Object>>, IndexJdbcSession> {

  @Override
  public void process(IndexJdbcSession session, List<EventEnvelope<Object>> envelopes)
      throws Exception {
    session.withConnection(
        c -> {
          List<SagaIndexUpdates.Change> changes = new ArrayList<>(envelopes.size());
          for (EventEnvelope<Object> envelope : envelopes) {
            changes.add(
                new SagaIndexUpdates.Change(
                    envelope.persistenceId(), envelope.sequenceNr(), envelope.event()));
          }
          SagaIndexUpdates.applyAll(c, changes);
          return Done.getInstance();
        });
  }
}
