package io.sagaflow.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sagaflow.persistence.events.LifecycleEvent;
import io.sagaflow.persistence.webhooks.Subscription;
import io.sagaflow.persistence.webhooks.WebhookDelivery;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Sends a webhook as the Standard Webhooks spec says: {@code POST} of the event's JSON (as the
 * event stream's {@code data}) with {@code webhook-id} (the event's offset, the same on every
 * attempt: receivers dedupe on it), {@code webhook-timestamp} (seconds) and {@code
 * webhook-signature}. A 2xx is success; anything else, a redirect included (none is followed), is a
 * failure. The target is checked against the allow-list again before every attempt.
 */
public final class WebhookSender implements WebhookDelivery {
  private final HttpClient client;
  private final ObjectMapper json;
  private final UrlAllowList allowList;
  private final Duration timeout;

  public WebhookSender(ObjectMapper mapper, UrlAllowList allowList, Duration timeout) {
    this.client =
        HttpClient.newBuilder()
            .connectTimeout(timeout)
            .followRedirects(HttpClient.Redirect.NEVER)
            .build();
    this.json =
        mapper
            .copy()
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS);
    this.allowList = allowList;
    this.timeout = timeout;
  }

  @Override
  public CompletionStage<Void> send(Subscription subscription, LifecycleEvent event) {
    Optional<String> refusal = allowList.refusal(subscription.url());
    if (refusal.isPresent()) {
      return CompletableFuture.failedFuture(new IllegalStateException(refusal.get()));
    }
    byte[] body;
    try {
      body = json.writeValueAsBytes(event);
    } catch (JsonProcessingException e) {
      return CompletableFuture.failedFuture(e);
    }
    String id = Long.toString(event.offset());
    long timestamp = System.currentTimeMillis() / 1000;
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(subscription.url()))
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .header("User-Agent", "sagaflow-webhooks")
            .header("webhook-id", id)
            .header("webhook-timestamp", Long.toString(timestamp))
            .header(
                "webhook-signature",
                WebhookSignature.sign(subscription.secret(), id, timestamp, body))
            .POST(HttpRequest.BodyPublishers.ofByteArray(body))
            .build();
    String target = "POST " + shown(subscription.url());
    return client
        .sendAsync(request, HttpResponse.BodyHandlers.discarding())
        .handle(
            (response, error) -> {
              if (error != null) {
                Throwable cause = error.getCause() != null ? error.getCause() : error;
                throw new IllegalStateException(
                    target + " failed: " + cause.getClass().getSimpleName() + message(cause));
              }
              if (response.statusCode() / 100 != 2) {
                throw new IllegalStateException(target + " answered " + response.statusCode());
              }
              return null;
            });
  }

  private static String message(Throwable cause) {
    return cause.getMessage() == null ? "" : " (" + cause.getMessage() + ")";
  }

  /** The URL without its query, which may carry a token of the receiver's. */
  private static String shown(String url) {
    int query = url.indexOf('?');
    return query < 0 ? url : url.substring(0, query) + "?…";
  }
}
