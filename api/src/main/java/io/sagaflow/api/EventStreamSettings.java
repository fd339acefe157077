package io.sagaflow.api;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * Tunables of {@code GET /v1/events}, read once from {@code sagaflow.events}.
 *
 * @param heartbeatInterval a comment line is sent after this long without an event
 * @param bufferSize events read ahead of a client, at most
 * @param slowConsumerTimeout a client that takes no event for this long while its buffer is full is
 *     disconnected, with the reason as a last event
 * @param sagaTypeCacheSize sagas whose type the node remembers for the type filter
 */
public record EventStreamSettings(
    Duration heartbeatInterval,
    int bufferSize,
    Duration slowConsumerTimeout,
    int sagaTypeCacheSize) {

  public EventStreamSettings {
    if (heartbeatInterval.isNegative() || heartbeatInterval.isZero()) {
      throw new IllegalArgumentException(
          "sagaflow.events.heartbeat-interval must be positive: " + heartbeatInterval);
    }
    if (bufferSize < 1 || sagaTypeCacheSize < 1) {
      throw new IllegalArgumentException(
          "sagaflow.events.buffer-size and saga-type-cache-size must be at least 1");
    }
    if (slowConsumerTimeout.isNegative() || slowConsumerTimeout.isZero()) {
      throw new IllegalArgumentException(
          "sagaflow.events.slow-consumer-timeout must be positive: " + slowConsumerTimeout);
    }
  }

  public static EventStreamSettings fromConfig(Config config) {
    Config c = config.getConfig("sagaflow.events");
    return new EventStreamSettings(
        c.getDuration("heartbeat-interval"),
        c.getInt("buffer-size"),
        c.getDuration("slow-consumer-timeout"),
        c.getInt("saga-type-cache-size"));
  }
}
