package io.sagaflow.persistence.index;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.metrics.micrometer.MicrometerMetricsTrackerFactory;
import io.micrometer.core.instrument.MeterRegistry;
import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.webhooks.WebhookSettings;

/**
 * The connection pools of the saga index, apart from the journal's (Slick's) pool. A pool given a
 * meter registry publishes {@code hikaricp_*} meters with its name as label {@code pool}.
 */
public final class IndexPools {

  private IndexPools() {}

  /**
   * Connections for the projection: not auto-committing, since each one carries the transaction
   * that writes a row and its offset together. HikariCP rolls back what a borrower left uncommitted
   * when the connection comes back.
   */
  static HikariDataSource forProjection(
      DatabaseSettings db, SagaIndexSettings settings, MeterRegistry meters) {
    HikariConfig config = base("sagaflow-index-projection", db, settings);
    config.setMaximumPoolSize(settings.projectionConnections());
    config.setAutoCommit(false);
    config.setMetricsTrackerFactory(new MicrometerMetricsTrackerFactory(meters));
    return new HikariDataSource(config);
  }

  /**
   * Connections for webhook delivery: the subscriptions and their projections' offsets, not
   * auto-committing (each projection's offset is written in its own transaction).
   */
  public static HikariDataSource forWebhooks(
      DatabaseSettings db,
      SagaIndexSettings settings,
      WebhookSettings webhooks,
      MeterRegistry meters) {
    HikariConfig config = base("sagaflow-webhooks", db, settings);
    config.setMaximumPoolSize(webhooks.connections());
    config.setAutoCommit(false);
    config.setMetricsTrackerFactory(new MicrometerMetricsTrackerFactory(meters));
    return new HikariDataSource(config);
  }

  /** Read-only, auto-committing connections for {@link SagaIndex}. */
  public static HikariDataSource forReads(DatabaseSettings db, SagaIndexSettings settings) {
    return new HikariDataSource(reads(db, settings));
  }

  /** As {@link #forReads(DatabaseSettings, SagaIndexSettings)}, measured in {@code meters}. */
  public static HikariDataSource forReads(
      DatabaseSettings db, SagaIndexSettings settings, MeterRegistry meters) {
    HikariConfig config = reads(db, settings);
    config.setMetricsTrackerFactory(new MicrometerMetricsTrackerFactory(meters));
    return new HikariDataSource(config);
  }

  private static HikariConfig reads(DatabaseSettings db, SagaIndexSettings settings) {
    HikariConfig config = base("sagaflow-index-reads", db, settings);
    config.setMaximumPoolSize(settings.readConnections());
    config.setReadOnly(true);
    return config;
  }

  private static HikariConfig base(String name, DatabaseSettings db, SagaIndexSettings settings) {
    if (db.isEmbedded()) {
      throw new IllegalArgumentException(
          "No url: start the EmbeddedDatabase and use its settings() instead");
    }
    HikariConfig config = new HikariConfig();
    config.setPoolName(name);
    config.setJdbcUrl(db.url());
    config.setUsername(db.user());
    config.setPassword(db.password());
    config.setConnectionTimeout(settings.connectionTimeout().toMillis());
    config.addDataSourceProperty("socketTimeout", settings.socketTimeoutSeconds());
    // Idle connections are cheap next to the journal's pool; start with one, grow on demand.
    config.setMinimumIdle(1);
    return config;
  }
}
