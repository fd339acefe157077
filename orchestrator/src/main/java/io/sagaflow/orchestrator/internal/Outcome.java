package io.sagaflow.orchestrator.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Optional;

/** How one attempt of a step or compensation ended, classified by the failure rules. */
public sealed interface Outcome {

  /** 2xx, or a local action that completed: the JSON output. */
  record Succeeded(JsonNode output) implements Outcome {}

  /**
   * Connect errors, timeouts, 408, 425, 429, 5xx or a retryable local failure: worth another
   * attempt; if attempts run out the outcome is uncertain.
   */
  record Retryable(String error, Optional<Duration> retryAfter) implements Outcome {
    public static Retryable of(String error) {
      return new Retryable(error, Optional.empty());
    }
  }

  /** Any other 4xx, or a non-retryable local failure: rejected, nothing applied. */
  record Permanent(String error) implements Outcome {}
}
