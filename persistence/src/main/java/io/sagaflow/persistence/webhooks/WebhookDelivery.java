package io.sagaflow.persistence.webhooks;

import io.sagaflow.persistence.events.LifecycleEvent;
import java.util.concurrent.CompletionStage;

/**
 * Sends one event to a subscription's endpoint, once: the dispatcher retries, and parks the
 * subscription when attempts run out. Implemented over HTTP by the API module.
 */
@FunctionalInterface
public interface WebhookDelivery {

  /**
   * Completes when the endpoint accepted the event (a 2xx); fails with an exception whose message
   * says what went wrong (and holds no secret) otherwise.
   */
  CompletionStage<Void> send(Subscription subscription, LifecycleEvent event);
}
