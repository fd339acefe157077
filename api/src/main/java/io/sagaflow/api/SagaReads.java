package io.sagaflow.api;

import io.sagaflow.orchestrator.SagaRegistry;
import io.sagaflow.orchestrator.SagaView;
import io.sagaflow.persistence.SagaJournal;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;
import org.apache.pekko.serialization.Serialization;

/**
 * What the API reads of one saga, straight from its history (through the orchestrator's {@code
 * history} contract), which neither wakes nor writes it. Every read blocks on JDBC and fails with
 * {@code IndexUnavailableException} when it cannot.
 */
public final class SagaReads {
  private final SagaJournal journal;
  private final SagaRegistry registry;

  public SagaReads(DataSource dataSource, Serialization serialization, SagaRegistry registry) {
    this.journal = new SagaJournal(dataSource, serialization);
    this.registry = registry;
  }

  /** The saga with this id, with every step of its definition; empty when there is none. */
  Optional<SagaView> saga(String id) {
    return journal
        .snapshot(id)
        .map(state -> SagaView.of(id, state, registry.find(state.type(), state.version())));
  }

  /** The saga's persisted events; empty when there is no saga with this id. */
  Optional<SagaEvents> events(String id) {
    List<SagaEvents.Event> events =
        journal.events(id).stream()
            .map(
                e ->
                    new SagaEvents.Event(
                        e.sequenceNr(), e.type().publicName(), e.writtenAt(), e.payload()))
            .toList();
    return events.isEmpty() ? Optional.empty() : Optional.of(new SagaEvents(id, events));
  }

  /** Whether a saga with this id was started; reads one journal row and deserializes nothing. */
  boolean exists(String id) {
    return journal.exists(id);
  }
}
