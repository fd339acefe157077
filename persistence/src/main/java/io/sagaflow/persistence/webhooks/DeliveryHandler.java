package io.sagaflow.persistence.webhooks;

import io.sagaflow.orchestrator.telemetry.SagaMdc;
import io.sagaflow.persistence.events.EventFilter;
import io.sagaflow.persistence.events.LifecycleEvent;
import io.sagaflow.persistence.events.LifecycleEvents;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.pattern.Patterns;
import org.apache.pekko.persistence.query.Sequence;
import org.apache.pekko.projection.eventsourced.EventEnvelope;
import org.apache.pekko.projection.javadsl.Handler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers one subscription's events, one at a time in journal order: each is retried with
 * exponential backoff and jitter (Pekko's {@link Patterns#retry}) until its endpoint accepts it,
 * and when attempts run out the subscription is parked with the reason and the event is not passed:
 * a resume starts from it.
 */
final class DeliveryHandler extends Handler<EventEnvelope<Object>> {
  private static final Logger log = LoggerFactory.getLogger(DeliveryHandler.class);

  private final ActorSystem<?> system;
  private final Subscription subscription;
  private final EventFilter filter;
  private final LifecycleEvents events;
  private final WebhookDelivery delivery;
  private final SubscriptionStore store;
  private final WebhookSettings settings;
  private final WebhookMetrics metrics;
  private final Executor blocking;
  private final AtomicBoolean parked;
  private final AtomicBoolean stopped;
  private final Consumer<String> onParked;

  DeliveryHandler(
      ActorSystem<?> system,
      Subscription subscription,
      LifecycleEvents events,
      WebhookDelivery delivery,
      SubscriptionStore store,
      WebhookSettings settings,
      WebhookMetrics metrics,
      Executor blocking,
      AtomicBoolean parked,
      AtomicBoolean stopped,
      Consumer<String> onParked) {
    this.system = system;
    this.subscription = subscription;
    this.filter = subscription.filter();
    this.events = events;
    this.delivery = delivery;
    this.store = store;
    this.settings = settings;
    this.metrics = metrics;
    this.blocking = blocking;
    this.parked = parked;
    this.stopped = stopped;
    this.onParked = onParked;
  }

  @Override
  public CompletionStage<Done> process(EventEnvelope<Object> envelope) {
    if (parked.get() || stopped.get()) {
      // The projection restarts after the failure that parked it until the dispatcher stops it.
      return CompletableFuture.failedFuture(
          new IllegalStateException("subscription " + subscription.id() + " is stopped"));
    }
    if (!LifecycleEvents.accepts(envelope.event(), filter)) {
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    return events
        .of(
            ((Sequence) envelope.offset()).value(),
            envelope.persistenceId(),
            envelope.sequenceNr(),
            envelope.event(),
            envelope.timestamp())
        .thenCompose(
            event ->
                event.isPresent()
                    ? deliver(event.get())
                    : CompletableFuture.completedFuture(Done.getInstance()));
  }

  private CompletionStage<Done> deliver(LifecycleEvent event) {
    var attempts = new AtomicInteger();
    // Pekko's retry makes its first attempt and then up to this many more.
    int retries = settings.maxAttempts() - 1;
    // A subscription deleted or parked meanwhile gets no further attempt.
    return Patterns.<Void>retry(
            () -> attempt(event, attempts.incrementAndGet()),
            (ok, failure) -> failure != null && !stopped.get(),
            retries,
            settings.minBackoff(),
            settings.maxBackoff(),
            settings.jitter(),
            system.classicSystem())
        .<Done>thenApply(unused -> Done.getInstance())
        .exceptionallyCompose(failure -> park(event, attempts.get(), failure));
  }

  private CompletionStage<Void> attempt(LifecycleEvent event, int attempt) {
    return delivery
        .send(subscription, event)
        .whenComplete(
            (ok, failure) -> {
              if (failure == null) {
                metrics.delivered.increment();
              } else {
                metrics.failed.increment();
                try (var mdc =
                    SagaMdc.open(SagaMdc.of(event.sagaId(), event.sagaType(), null, 0))) {
                  log.debug(
                      "Webhook {} attempt {} at event {} failed: {}",
                      subscription.id(),
                      attempt,
                      event.offset(),
                      message(failure));
                }
              }
            });
  }

  private CompletionStage<Done> park(LifecycleEvent event, int attempts, Throwable failure) {
    if (stopped.get()) {
      return CompletableFuture.failedFuture(
          new IllegalStateException("subscription " + subscription.id() + " was stopped"));
    }
    String reason =
        "event "
            + event.offset()
            + " ("
            + event.type()
            + " of saga '"
            + event.sagaId()
            + "') was not delivered in "
            + attempts
            + (attempts == 1 ? " attempt" : " attempts")
            + "; the last: "
            + message(failure);
    parked.set(true);
    return CompletableFuture.supplyAsync(() -> store.park(subscription.id(), reason), blocking)
        .handle(
            (stored, error) -> {
              try (var mdc = SagaMdc.open(SagaMdc.of(event.sagaId(), event.sagaType(), null, 0))) {
                if (error != null) {
                  // Not parked in the database: the projection restarts with backoff and tries
                  // the event again.
                  parked.set(false);
                  log.warn(
                      "Webhook {} could not be parked ({}); retrying: {}",
                      subscription.id(),
                      message(error),
                      reason);
                } else if (stored) {
                  metrics.parked.increment();
                  log.warn("Webhook {} parked: {}", subscription.id(), reason);
                  onParked.accept(subscription.id());
                }
              }
              return CompletableFuture.<Done>failedFuture(new IllegalStateException(reason));
            })
        .thenCompose(f -> f);
  }

  private static String message(Throwable failure) {
    Throwable cause = failure;
    while ((cause instanceof java.util.concurrent.CompletionException
            || cause instanceof java.util.concurrent.ExecutionException)
        && cause.getCause() != null) {
      cause = cause.getCause();
    }
    return cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName();
  }
}
