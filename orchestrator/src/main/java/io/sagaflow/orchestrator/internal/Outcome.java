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
   * attempt; if attempts run out the outcome is uncertain. {@code retryAfter} is how long the
   * participant asked to wait ({@code Retry-After}), honoured as far as the policy's {@code
   * maxBackoff}. {@code notSent}: the attempt was never sent, because the participant's circuit
   * breaker turned it away; {@code retryAfter} is then when the breaker lets calls through again,
   * spread, and it is a floor the policy's {@code maxBackoff} does not cut: an attempt due sooner
   * would only be turned away again, and cutting every saga's wait to one {@code maxBackoff} brings
   * them all back together (the chaos run's retry storm).
   */
  record Retryable(String error, Optional<Duration> retryAfter, boolean notSent)
      implements Outcome {
    public Retryable(String error, Optional<Duration> retryAfter) {
      this(error, retryAfter, false);
    }

    public static Retryable of(String error) {
      return new Retryable(error, Optional.empty());
    }

    /** An attempt the circuit breaker did not send: wait at least {@code wait} before the next. */
    public static Retryable notSent(String error, Duration wait) {
      return new Retryable(error, Optional.of(wait), true);
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
