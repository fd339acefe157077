package io.sagaflow.persistence.webhooks;

import io.sagaflow.orchestrator.history.EventType;
import io.sagaflow.persistence.events.EventFilter;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * A webhook subscription: where the events go, which ones, and the secret that signs them.
 *
 * @param events the event types delivered; empty: every type
 * @param startOffset the journal ordering its deliveries start after, until it stores its own
 * @param parkedReason why it is parked; null when active
 */
public record Subscription(
    String id,
    String url,
    List<EventType> events,
    String secret,
    long startOffset,
    Status status,
    String parkedReason,
    Instant parkedAt,
    Instant createdAt) {

  /** Delivering, or waiting for an operator after its endpoint kept failing. */
  public enum Status {
    ACTIVE,
    PARKED
  }

  public Subscription {
    events = List.copyOf(events);
  }

  public EventFilter filter() {
    return new EventFilter(Set.of(), Set.copyOf(events));
  }

  /** Without its secret, which must never reach a log. */
  @Override
  public String toString() {
    return "Subscription[" + id + " -> " + url + ", " + status + "]";
  }
}
