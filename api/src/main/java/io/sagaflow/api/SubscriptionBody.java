package io.sagaflow.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.sagaflow.orchestrator.history.EventType;
import io.sagaflow.persistence.webhooks.Subscription;
import java.time.Instant;
import java.util.List;

/**
 * A webhook subscription as the API shows it, never with its secret but in the answer to its
 * creation ({@code secret} is null otherwise, and left out).
 *
 * @param events the event types delivered; empty: all
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
record SubscriptionBody(
    String id,
    String url,
    List<String> events,
    String status,
    String parkedReason,
    Instant parkedAt,
    Instant createdAt,
    String secret) {

  static SubscriptionBody of(Subscription s) {
    return new SubscriptionBody(
        s.id(),
        s.url(),
        s.events().stream().map(EventType::publicName).toList(),
        s.status().name(),
        s.parkedReason(),
        s.parkedAt(),
        s.createdAt(),
        null);
  }

  static SubscriptionBody created(Subscription s) {
    SubscriptionBody body = of(s);
    return new SubscriptionBody(
        body.id(),
        body.url(),
        body.events(),
        body.status(),
        body.parkedReason(),
        body.parkedAt(),
        body.createdAt(),
        s.secret());
  }

  /** {@code GET /v1/subscriptions}: every subscription, oldest first. */
  record Page(List<SubscriptionBody> items) {}
}
