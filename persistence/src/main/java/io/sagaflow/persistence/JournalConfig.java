package io.sagaflow.persistence;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.util.Map;

/**
 * Builds the configuration that points Pekko persistence (pekko-persistence-jdbc) at a database.
 */
public final class JournalConfig {

  /** Name of the connection pool shared by the journal, snapshot, query and state plugins. */
  public static final String SHARED_DATABASE = "slick";

  /** Section of the configuration holding the static part of the plugin configuration. */
  public static final String PLUGIN_CONFIG_PATH = "sagaflow.persistence.plugin-config";

  private static final String DB_PATH =
      "pekko-persistence-jdbc.shared-databases." + SHARED_DATABASE + ".db";

  private JournalConfig() {}

  /**
   * A configuration to put in front of the actor system's configuration ({@code
   * forDatabase(db).withFallback(ConfigFactory.load())}): selects the jdbc journal and snapshot
   * store and connects them to {@code database}, with the driver's socket timeout from {@code
   * sagaflow.db.socket-timeout}. The static settings (pool sizes, driver properties) come from
   * {@code sagaflow.persistence.plugin-config} of {@link ConfigFactory#load()}.
   */
  public static Config forDatabase(DatabaseSettings database) {
    return forDatabase(database, ConfigFactory.load());
  }

  /** As {@link #forDatabase(DatabaseSettings)}, reading the static settings from {@code config}. */
  public static Config forDatabase(DatabaseSettings database, Config config) {
    if (database.isEmbedded()) {
      throw new IllegalArgumentException(
          "No url: start the EmbeddedDatabase and use its settings() instead");
    }
    // parseMap, not HOCON text: any character in a password stays a plain string value.
    Config connection =
        ConfigFactory.parseMap(
            Map.of(
                DB_PATH + ".url", database.url(),
                DB_PATH + ".user", database.user(),
                DB_PATH + ".password", database.password(),
                DB_PATH + ".properties.socketTimeout",
                    String.valueOf(DatabaseSettings.socketTimeoutSeconds(config))),
            "sagaflow database settings");
    return connection.withFallback(config.getConfig(PLUGIN_CONFIG_PATH));
  }

  /** As {@link #forDatabase(DatabaseSettings)}. */
  public static Config forDatabase(String url, String user, String password) {
    return forDatabase(new DatabaseSettings(url, user, password));
  }
}
