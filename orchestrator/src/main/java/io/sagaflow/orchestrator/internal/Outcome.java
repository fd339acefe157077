package io.sagaflow.orchestrator.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Optional;

/** How one attempt of a step or compensation ended, classified by the failure rules. */
public sealed interface Outcome {

  /**
   * 2xx, or a local action that completed: the JSON output. {@code replayed} when the participant
   * said ({@code Idempotent-Replayed: true}) that it had applied this key before and answered as
   * then.
   */
  record Succeeded(JsonNode output, boolean replayed) implements Outcome {
    public Succeeded(JsonNode output) {
      this(output, false);
    }
  }

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

  /**
   * A 2xx whose body cannot be read (over the size cap, not valid JSON), or a local action that
   * completed with a result that does not convert to JSON: the effect was applied, but its output
   * is lost. Uncertain, and not worth another attempt: the same key gets the same answer. {@code
   * call} names the call, {@code problem} says what it answered and why that cannot be read, e.g.
   * "answered 200 but its body could not be read: over 1048576 bytes".
   */
  record Unreadable(String call, String problem) implements Outcome {
    public String error() {
      return call + " " + problem;
    }
  }
}
