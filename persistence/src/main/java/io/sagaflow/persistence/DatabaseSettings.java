package io.sagaflow.persistence;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * Where the PostgreSQL database is: a JDBC url with credentials, or an empty url for "embedded".
 */
public record DatabaseSettings(String url, String user, String password) {

  /** Environment variable overriding {@code sagaflow.db.url}. */
  public static final String URL_ENV = "SAGAFLOW_DB_URL";

  /** Environment variable overriding {@code sagaflow.db.user}. */
  public static final String USER_ENV = "SAGAFLOW_DB_USER";

  /** Environment variable overriding {@code sagaflow.db.password}. */
  public static final String PASSWORD_ENV = "SAGAFLOW_DB_PASSWORD";

  /** Configuration section read by {@link #fromEnvironment}. */
  public static final String CONFIG_PATH = "sagaflow.db";

  // pgjdbc also accepts the password as a url parameter; toString must not leak it from there.
  private static final Pattern URL_PASSWORD = Pattern.compile("(?i)([?&;]password=)[^&;]*");

  public DatabaseSettings {
    Objects.requireNonNull(url, "url");
    Objects.requireNonNull(user, "user");
    Objects.requireNonNull(password, "password");
  }

  /**
   * Reads the settings: each of {@code SAGAFLOW_DB_URL}, {@code SAGAFLOW_DB_USER} and {@code
   * SAGAFLOW_DB_PASSWORD} wins over {@code sagaflow.db.url/user/password} when it is set and not
   * empty.
   */
  public static DatabaseSettings fromEnvironment(Map<String, String> env, Config config) {
    Config db = config.getConfig(CONFIG_PATH);
    return new DatabaseSettings(
        pick(env, URL_ENV, db, "url"),
        pick(env, USER_ENV, db, "user"),
        pick(env, PASSWORD_ENV, db, "password"));
  }

  /** The settings of this process: its environment over {@code ConfigFactory.load()}. */
  public static DatabaseSettings load() {
    return fromEnvironment(System.getenv(), ConfigFactory.load());
  }

  /**
   * pgjdbc's {@code socketTimeout} for every connection pool of the node, from {@code
   * sagaflow.db.socket-timeout}: whole seconds, rounded up; 0 turns it off.
   *
   * @throws IllegalArgumentException when the setting is negative
   */
  public static int socketTimeoutSeconds(Config config) {
    Duration timeout = config.getDuration(CONFIG_PATH + ".socket-timeout");
    if (timeout.isNegative()) {
      throw new IllegalArgumentException(
          CONFIG_PATH + ".socket-timeout must not be negative: " + timeout);
    }
    return (int) Math.min(Integer.MAX_VALUE, (timeout.toMillis() + 999) / 1000);
  }

  /** True when no url is configured, meaning the node should start an embedded PostgreSQL. */
  public boolean isEmbedded() {
    return url.isBlank();
  }

  @Override
  public String toString() {
    if (isEmbedded()) {
      return "DatabaseSettings[embedded]";
    }
    return "DatabaseSettings[url="
        + URL_PASSWORD.matcher(url).replaceAll("$1****")
        + ", user="
        + user
        + ", password="
        + (password.isEmpty() ? "(empty)" : "****")
        + "]";
  }

  private static String pick(Map<String, String> env, String variable, Config db, String key) {
    // An empty variable counts as unset: orchestration tools often export empty placeholders.
    String fromEnv = env.get(variable);
    if (fromEnv != null && !fromEnv.isEmpty()) {
      return fromEnv;
    }
    return db.getString(key);
  }
}
