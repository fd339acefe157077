package io.sagaflow.persistence.index;

import org.apache.pekko.Done;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.jdbc.javadsl.JdbcHandler;

/**
 * Writes each event's row change in the projection's transaction, which also stores the offset.
 * Envelopes are typed {@code Object}: whatever the tag carries reaches {@link SagaIndexUpdates},
 * which skips what it does not know instead of failing on a cast.
 */
final class SagaIndexHandler extends JdbcHandler<EventEnvelope<Object>, IndexJdbcSession> {

  @Override
  public void process(IndexJdbcSession session, EventEnvelope<Object> envelope) throws Exception {
    session.withConnection(
        c -> {
          SagaIndexUpdates.apply(
              c, envelope.persistenceId(), envelope.sequenceNr(), envelope.event());
          return Done.getInstance();
        });
  }
}
