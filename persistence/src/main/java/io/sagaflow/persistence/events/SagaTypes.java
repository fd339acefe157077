package io.sagaflow.persistence.events;

import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.persistence.SagaJournal;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;

/**
 * The type of each saga whose events are published, which only its {@code SagaStarted} carries:
 * remembered from the {@code SagaStarted} read in order, else read once from the saga's history.
 * Bounded: the least recently used sagas are forgotten first.
 */
final class SagaTypes {
  private final SagaJournal journal;
  private final Executor blocking;
  private final Map<String, String> known;

  SagaTypes(SagaJournal journal, Executor blocking, int capacity) {
    this.journal = journal;
    this.blocking = blocking;
    this.known =
        Collections.synchronizedMap(
            new LinkedHashMap<>(256, 0.75f, true) {
              @Override
              protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
                return size() > capacity;
              }
            });
  }

  /** The type of saga {@code sagaId}, one of whose events is {@code event}; empty if unknown. */
  CompletionStage<Optional<String>> typeOf(String sagaId, SagaEvent event) {
    if (event instanceof SagaEvent.SagaStarted started) {
      known.put(sagaId, started.type());
      return CompletableFuture.completedFuture(Optional.of(started.type()));
    }
    String type = known.get(sagaId);
    if (type != null) {
      return CompletableFuture.completedFuture(Optional.of(type));
    }
    return CompletableFuture.supplyAsync(
        () -> {
          Optional<String> read = journal.start(sagaId).map(SagaEvent.SagaStarted::type);
          read.ifPresent(t -> known.put(sagaId, t));
          return read;
        },
        blocking);
  }
}
