package io.sagaflow.persistence;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Brings a database's schema up to date with the Flyway migrations of this module. */
public final class Migrations {

  /** Where the migrations live on the classpath. */
  public static final String LOCATION = "classpath:db/migration";

  private static final Logger log = LoggerFactory.getLogger(Migrations.class);

  private Migrations() {}

  /**
   * Applies the pending migrations; safe to call on every start and from several nodes at once
   * (Flyway serialises them with a PostgreSQL advisory lock).
   *
   * @return how many migrations were applied, 0 when the schema was already current
   */
  public static int migrate(String url, String user, String password) {
    MigrateResult result =
        Flyway.configure()
            .dataSource(url, user, password)
            .locations(LOCATION)
            .failOnMissingLocations(true)
            .load()
            .migrate();
    if (result.migrationsExecuted > 0) {
      log.info(
          "Applied {} migration(s) to {}: schema version {} -> {}",
          result.migrationsExecuted,
          withoutParameters(url),
          result.initialSchemaVersion == null ? "(empty)" : result.initialSchemaVersion,
          result.targetSchemaVersion);
    } else {
      log.info(
          "Schema of {} is current (version {})",
          withoutParameters(url),
          result.initialSchemaVersion);
    }
    return result.migrationsExecuted;
  }

  /** {@link #migrate(String, String, String)} for a database that is not embedded. */
  public static int migrate(DatabaseSettings settings) {
    if (settings.isEmbedded()) {
      throw new IllegalArgumentException(
          "No url: start the EmbeddedDatabase and migrate its settings() instead");
    }
    return migrate(settings.url(), settings.user(), settings.password());
  }

  // The url may carry credentials as parameters; they do not belong in a log.
  private static String withoutParameters(String url) {
    int query = url.indexOf('?');
    return query < 0 ? url : url.substring(0, query);
  }
}
