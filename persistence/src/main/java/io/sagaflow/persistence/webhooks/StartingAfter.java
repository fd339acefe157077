package io.sagaflow.persistence.webhooks;

import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.apache.pekko.NotUsed;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.SourceProvider;
import org.apache.pekko.stream.javadsl.Source;

/**
 * A projection's events from its stored offset, or after {@code start} while it has stored none: a
 * new subscription delivers what happens from its creation on, not the whole journal.
 */
final class StartingAfter extends SourceProvider<Offset, EventEnvelope<Object>> {
  private final SourceProvider<Offset, EventEnvelope<Object>> events;
  private final Offset start;

  StartingAfter(SourceProvider<Offset, EventEnvelope<Object>> events, Offset start) {
    this.events = events;
    this.start = start;
  }

  @Override
  public CompletionStage<Source<EventEnvelope<Object>, NotUsed>> source(
      Supplier<CompletionStage<Optional<Offset>>> offset) {
    return events.source(
        () -> offset.get().thenApply(stored -> stored.isPresent() ? stored : Optional.of(start)));
  }

  @Override
  public Offset extractOffset(EventEnvelope<Object> envelope) {
    return events.extractOffset(envelope);
  }

  @Override
  public long extractCreationTime(EventEnvelope<Object> envelope) {
    return events.extractCreationTime(envelope);
  }
}
