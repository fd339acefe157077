package io.sagaflow.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.history.EventType;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A subscription the API accepts: {@code POST /v1/subscriptions} {@code {url, events?, secret?}}.
 * {@code events} lists event type names (all when left out); {@code secret} is a Standard Webhooks
 * secret, generated when left out.
 */
record SubscriptionRequest(String url, List<EventType> events, String secret) {
  private static final Set<String> FIELDS = Set.of("url", "events", "secret");

  static SubscriptionRequest parse(JsonNode body, UrlAllowList allowList) throws InvalidRequest {
    if (!body.isObject()) {
      throw invalid("the body must be a JSON object", null);
    }
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!FIELDS.contains(field)) {
        throw invalid(
            "unknown field '" + Problem.clip(field) + "'; expected " + FIELDS, Problem.clip(field));
      }
    }
    JsonNode url = body.get("url");
    if (url == null || !url.isTextual() || url.asText().isBlank()) {
      throw invalid("'url' must be a non-empty string", "url");
    }
    var refusal = allowList.refusal(url.asText());
    if (refusal.isPresent()) {
      throw new InvalidRequest(
          Problem.unprocessable("url-not-allowed", "URL not allowed", refusal.get(), "url"));
    }
    return new SubscriptionRequest(url.asText(), events(body.get("events")), secret(body));
  }

  private static List<EventType> events(JsonNode events) throws InvalidRequest {
    if (events == null) {
      return List.of();
    }
    if (!events.isArray() || events.isEmpty()) {
      throw invalid(
          "'events' must be a non-empty array of event type names (leave it out for all)",
          "events");
    }
    var types = new LinkedHashSet<EventType>();
    for (JsonNode name : events) {
      if (!name.isTextual() || EventType.named(name.asText()).isEmpty()) {
        throw invalid(
            "unknown event type "
                + Problem.clip(name.toString())
                + "; expected some of "
                + Arrays.stream(EventType.values()).map(EventType::publicName).toList(),
            "events");
      }
      types.add(EventType.named(name.asText()).get());
    }
    return List.copyOf(types);
  }

  private static String secret(JsonNode body) throws InvalidRequest {
    JsonNode secret = body.get("secret");
    if (secret == null) {
      return WebhookSignature.newSecret();
    }
    // The secret is never echoed back, even in part.
    if (!secret.isTextual() || !WebhookSignature.valid(secret.asText())) {
      throw invalid(
          "'secret' must be 'whsec_' followed by the base64 of a 24 to 64 byte key", "secret");
    }
    return secret.asText();
  }

  private static InvalidRequest invalid(String detail, String field) {
    return new InvalidRequest(Problem.badRequest(detail, field));
  }
}
