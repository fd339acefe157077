package io.sagaflow.persistence.webhooks;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;

/**
 * The webhook meters: {@code sagaflow_webhook_deliveries_total{outcome}} (attempts on this node:
 * {@code delivered}, {@code failed}), {@code sagaflow_webhook_parked_total} (subscriptions this
 * node parked), and, from the database (cluster-wide), {@code
 * sagaflow_webhook_subscriptions{status}} and {@code sagaflow_webhook_lag_events} (journal rows the
 * furthest-behind subscription has not passed yet).
 */
final class WebhookMetrics {
  final Counter delivered;
  final Counter failed;
  final Counter parked;
  private volatile SubscriptionStore.Reading latest;

  WebhookMetrics(MeterRegistry registry) {
    delivered = deliveries(registry, "delivered");
    failed = deliveries(registry, "failed");
    parked =
        Counter.builder("sagaflow.webhook.parked")
            .description(
                "Webhook subscriptions parked by this node after their endpoint kept failing")
            .register(registry);
    for (Subscription.Status status : Subscription.Status.values()) {
      Gauge.builder("sagaflow.webhook.subscriptions", this, m -> m.count(status))
          .description("Webhook subscriptions by status (cluster-wide)")
          .tag("status", status.name())
          .strongReference(true)
          .register(registry);
    }
    Gauge.builder("sagaflow.webhook.lag.events", this, m -> m.lag())
        .description("Journal rows the furthest-behind webhook subscription has not passed yet")
        .strongReference(true)
        .register(registry);
  }

  private static Counter deliveries(MeterRegistry registry, String outcome) {
    return Counter.builder("sagaflow.webhook.deliveries")
        .description("Webhook delivery attempts made by this node, by outcome")
        .tag("outcome", outcome)
        .register(registry);
  }

  void update(SubscriptionStore.Reading reading) {
    latest = reading;
  }

  private double count(Subscription.Status status) {
    SubscriptionStore.Reading r = latest;
    if (r == null) {
      return Double.NaN;
    }
    return status == Subscription.Status.ACTIVE ? r.active() : r.parked();
  }

  private double lag() {
    SubscriptionStore.Reading r = latest;
    return r == null ? Double.NaN : r.maxLag();
  }
}
