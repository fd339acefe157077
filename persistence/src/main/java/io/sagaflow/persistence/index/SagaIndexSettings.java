package io.sagaflow.persistence.index;

import com.typesafe.config.Config;
import io.sagaflow.persistence.DatabaseSettings;
import java.time.Duration;
import java.util.Objects;

/**
 * Tunables of the saga index, read once from {@code sagaflow.index}.
 *
 * @param projectionConnections size of each node's connection pool for the index projection
 * @param readConnections size of the pool {@link SagaIndex#connect} opens
 * @param connectionTimeout how long to wait for a pooled connection
 * @param socketTimeoutSeconds pgjdbc's {@code socketTimeout} of both pools ({@code
 *     sagaflow.db.socket-timeout}, see {@link DatabaseSettings#socketTimeoutSeconds}); 0: none
 * @param rebuildWhenEmpty whether {@link SagaIndexProjection#init} replays the journal when the
 *     table is empty but offsets are stored
 * @param groupMaxEvents the most events the projection applies in one transaction
 * @param groupMaxDelay how long the projection waits for more events before it commits a group
 */
public record SagaIndexSettings(
    int projectionConnections,
    int readConnections,
    Duration connectionTimeout,
    int socketTimeoutSeconds,
    boolean rebuildWhenEmpty,
    int groupMaxEvents,
    Duration groupMaxDelay) {

  /** Configuration section read by {@link #fromConfig}. */
  public static final String CONFIG_PATH = "sagaflow.index";

  public SagaIndexSettings {
    Objects.requireNonNull(connectionTimeout, "connectionTimeout");
    Objects.requireNonNull(groupMaxDelay, "groupMaxDelay");
    if (groupMaxEvents < 1) {
      throw new IllegalArgumentException("group-max-events must be at least 1: " + groupMaxEvents);
    }
    if (groupMaxDelay.isNegative() || groupMaxDelay.isZero()) {
      throw new IllegalArgumentException("group-max-delay must be positive: " + groupMaxDelay);
    }
    if (projectionConnections < 1) {
      throw new IllegalArgumentException(
          "projection-connections must be at least 1: " + projectionConnections);
    }
    if (readConnections < 1) {
      throw new IllegalArgumentException("read-connections must be at least 1: " + readConnections);
    }
    if (socketTimeoutSeconds < 0) {
      throw new IllegalArgumentException(
          "sagaflow.db.socket-timeout must not be negative: " + socketTimeoutSeconds + " s");
    }
    // HikariCP's lower bound.
    if (connectionTimeout.toMillis() < 250) {
      throw new IllegalArgumentException(
          "connection-timeout must be at least 250ms: " + connectionTimeout);
    }
  }

  /** Reads {@code sagaflow.index} of {@code config}, and {@code sagaflow.db.socket-timeout}. */
  public static SagaIndexSettings fromConfig(Config config) {
    Config index = config.getConfig(CONFIG_PATH);
    return new SagaIndexSettings(
        index.getInt("projection-connections"),
        index.getInt("read-connections"),
        index.getDuration("connection-timeout"),
        DatabaseSettings.socketTimeoutSeconds(config),
        index.getBoolean("rebuild-when-empty"),
        index.getInt("group-max-events"),
        index.getDuration("group-max-delay"));
  }
}
