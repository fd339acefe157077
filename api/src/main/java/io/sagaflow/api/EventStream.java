package io.sagaflow.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.sagaflow.persistence.events.EventFilter;
import io.sagaflow.persistence.events.LifecycleEvent;
import io.sagaflow.persistence.events.LifecycleEvents;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.Done;
import org.apache.pekko.NotUsed;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.stream.BackpressureTimeoutException;
import org.apache.pekko.stream.KillSwitches;
import org.apache.pekko.stream.OverflowStrategy;
import org.apache.pekko.stream.SharedKillSwitch;
import org.apache.pekko.stream.javadsl.Source;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The lifecycle events of {@code GET /v1/events} as Server-Sent Events: {@code id} the event's
 * offset, {@code event} its public type name, {@code data} the {@link LifecycleEvent} as JSON.
 * Reading is driven by the client's demand, so a client costs the node at most {@code buffer-size}
 * events; one that leaves them untaken for {@code slow-consumer-timeout} gets a last {@code
 * disconnected} event with the reason, and the stream ends.
 */
final class EventStream {
  private static final Logger log = LoggerFactory.getLogger(EventStream.class);

  /** The type of the last event a disconnected client gets. */
  static final String DISCONNECTED = "disconnected";

  /** How long, at shutdown, the streams ended are given to write their last chunk. */
  private static final Duration LAST_CHUNK_DRAIN = Duration.ofMillis(500);

  private final LifecycleEvents events;
  private final EventStreamSettings settings;
  private final ObjectMapper json;
  private final AtomicInteger open = new AtomicInteger();
  private final Set<CompletionStage<Done>> running = ConcurrentHashMap.newKeySet();
  private final SharedKillSwitch ending = KillSwitches.shared("sagaflow-event-streams");
  private final Counter slowConsumers;

  EventStream(
      LifecycleEvents events,
      EventStreamSettings settings,
      ObjectMapper mapper,
      MeterRegistry registry) {
    this.events = events;
    this.settings = settings;
    this.json =
        mapper
            .copy()
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS);
    Gauge.builder("sagaflow.event.streams", open, AtomicInteger::get)
        .description("Clients of GET /v1/events connected to this node")
        .register(registry);
    this.slowConsumers =
        Counter.builder("sagaflow.event.stream.slow.consumers")
            .description("Clients of GET /v1/events disconnected for taking no events")
            .register(registry);
  }

  /** The events after {@code offset} that {@code filter} accepts, as an endless event stream. */
  Source<ServerSentEvent, NotUsed> after(long offset, EventFilter filter) {
    return guarded(events.after(offset, filter).map(this::render))
        .via(ending.flow())
        .watchTermination(
            (mat, done) -> {
              open.incrementAndGet();
              running.add(done);
              done.whenComplete(
                  (ok, error) -> {
                    open.decrementAndGet();
                    running.remove(done);
                  });
              return mat;
            });
  }

  /**
   * Ends every stream of this node, as a completed response: a node that stops does not wait for
   * clients that never hang up, and they resume elsewhere with {@code Last-Event-ID}. Completes
   * when each has ended (at most {@code within}).
   */
  CompletionStage<Done> endAll(Duration within) {
    boolean anyOpen = !running.isEmpty();
    ending.shutdown();
    CompletableFuture<?> ended =
        CompletableFuture.allOf(
                running.stream()
                    .map(CompletionStage::toCompletableFuture)
                    .toArray(CompletableFuture[]::new))
            .completeOnTimeout(null, within.toMillis(), TimeUnit.MILLISECONDS);
    if (!anyOpen) {
      return ended.handle((ok, error) -> Done.getInstance());
    }
    // A stream's end is seen here when its source completes, before the HTTP layer has written
    // the response's last chunk; and the server's termination then closes at once every
    // connection whose response has begun (pekko-http's GracefulTerminatorStage counts a response
    // as sent once its head is out). Without this pause a client could see its stream cut
    // instead of ended. Nothing tells when the chunk is on the wire, so wait a little.
    return ended
        .handle((ok, error) -> Done.getInstance())
        .thenCompose(
            done ->
                CompletableFuture.supplyAsync(
                    () -> done,
                    CompletableFuture.delayedExecutor(
                        LAST_CHUNK_DRAIN.toMillis(), TimeUnit.MILLISECONDS)));
  }

  /**
   * Heartbeats while nothing happens, and the slow-consumer rule: events read ahead into a bounded
   * buffer, and a client that takes none of them for the timeout ends its stream with the reason.
   */
  Source<ServerSentEvent, NotUsed> guarded(Source<ServerSentEvent, NotUsed> events) {
    return events
        .buffer(settings.bufferSize(), OverflowStrategy.backpressure())
        .keepAlive(settings.heartbeatInterval(), ServerSentEvent::heartbeat)
        .backpressureTimeout(settings.slowConsumerTimeout())
        .recover(
            BackpressureTimeoutException.class,
            () -> {
              slowConsumers.increment();
              String reason =
                  "slow consumer: no event taken for "
                      + settings.slowConsumerTimeout()
                      + " with "
                      + settings.bufferSize()
                      + " buffered; reconnect with Last-Event-ID to resume";
              log.info("Disconnecting a client of GET /v1/events: {}", reason);
              return ServerSentEvent.create(
                  json.createObjectNode().put("reason", reason).toString(),
                  Optional.of(DISCONNECTED),
                  Optional.empty(),
                  OptionalInt.empty());
            });
  }

  private ServerSentEvent render(LifecycleEvent event) {
    try {
      return ServerSentEvent.create(
          json.writeValueAsString(event),
          Optional.of(event.type()),
          Optional.of(Long.toString(event.offset())),
          OptionalInt.empty());
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write event " + event.offset(), e);
    }
  }
}
