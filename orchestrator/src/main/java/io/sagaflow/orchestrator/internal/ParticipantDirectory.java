package io.sagaflow.orchestrator.internal;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValueType;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Resolves a participant's name (e.g. {@code payments}) to the base URL its calls go to.
 *
 * <p>Sources, first match wins:
 *
 * <ol>
 *   <li>the environment variable {@code SAGAFLOW_PARTICIPANTS_<NAME>_URL}, the name upper-cased
 *       with {@code -} and {@code .} turned into {@code _} (e.g. {@code order-service} → {@code
 *       SAGAFLOW_PARTICIPANTS_ORDER_SERVICE_URL});
 *   <li>the config key {@code sagaflow.participants.<name>.url}. {@code ConfigFactory.load()} has
 *       already layered it: system properties ({@code -Dsagaflow.participants.payments.url=...})
 *       over {@code application.conf} over {@code reference.conf}.
 * </ol>
 *
 * <p>So an environment variable beats a system property, which beats the config files. A blank
 * value counts as unset, so a deployment can blank out an inherited variable. Every URL must be
 * absolute {@code http} or {@code https} with a host, and without user info, query or fragment; the
 * constructor checks every configured one so that a typo fails at start-up rather than at the first
 * call.
 */
public final class ParticipantDirectory {

  /** The config object holding one {@code <name> { url = ... }} entry per participant. */
  public static final String CONFIG_PATH = "sagaflow.participants";

  private static final String ENV_PREFIX = "SAGAFLOW_PARTICIPANTS_";
  private static final String ENV_SUFFIX = "_URL";

  private final Config config;
  private final Map<String, String> env;

  /**
   * @param config the system's config (normally {@code ActorSystem.settings().config()})
   * @param env the process environment; tests pass their own map
   * @throws IllegalArgumentException when a configured URL is not a usable base URL
   */
  public ParticipantDirectory(Config config, Map<String, String> env) {
    this.config = Objects.requireNonNull(config, "config");
    this.env = Map.copyOf(Objects.requireNonNull(env, "env"));
    validateAll();
  }

  /** A directory over the given config and this process's environment. */
  public static ParticipantDirectory create(Config config) {
    return new ParticipantDirectory(config, System.getenv());
  }

  /** The environment variable that sets the URL of {@code name}. */
  public static String envVar(String name) {
    return ENV_PREFIX
        + name.toUpperCase(Locale.ROOT).replace('-', '_').replace('.', '_')
        + ENV_SUFFIX;
  }

  /** The config key that sets the URL of {@code name}. */
  public static String configKey(String name) {
    return CONFIG_PATH + "." + ConfigUtil.joinPath(name) + ".url";
  }

  /** The participant's base URL, or empty when neither source names one. */
  public Optional<URI> baseUrl(String name) {
    Objects.requireNonNull(name, "name");
    String envVar = envVar(name);
    String fromEnv = env.get(envVar);
    if (fromEnv != null && !fromEnv.isBlank()) {
      return Optional.of(parse(fromEnv, "environment variable " + envVar));
    }
    String key = configKey(name);
    if (hasString(key)) {
      String fromConfig = config.getString(key);
      if (!fromConfig.isBlank()) {
        return Optional.of(parse(fromConfig, "config key " + key));
      }
    }
    return Optional.empty();
  }

  /**
   * The participant's base URL.
   *
   * @throws IllegalStateException naming the environment variable and config key to set
   */
  public URI require(String name) {
    return baseUrl(name).orElseThrow(() -> new IllegalStateException(missingMessage(name)));
  }

  /** Why {@code name} has no URL and how to give it one. */
  public static String missingMessage(String name) {
    return "no URL configured for participant '"
        + name
        + "': set environment variable "
        + envVar(name)
        + " or config key "
        + configKey(name)
        + " (e.g. -D"
        + configKey(name)
        + "=http://"
        + name
        + ":8080)";
  }

  /**
   * The URL of {@code path} under {@code base}. Exactly one slash joins them whatever either side
   * has, and a path prefix in the base (a gateway route) is kept, which {@link URI#resolve} would
   * drop for an absolute path.
   *
   * @throws IllegalArgumentException when the result is not a valid URI
   */
  public static URI join(URI base, String path) {
    String left = base.toString();
    int end = left.length();
    while (end > 0 && left.charAt(end - 1) == '/') {
      end--;
    }
    left = left.substring(0, end);
    if (path == null || path.isEmpty()) {
      return URI.create(left + "/");
    }
    int start = 0;
    while (start < path.length() && path.charAt(start) == '/') {
      start++;
    }
    return URI.create(left + "/" + path.substring(start));
  }

  private void validateAll() {
    env.forEach(
        (key, value) -> {
          if (key.startsWith(ENV_PREFIX) && key.endsWith(ENV_SUFFIX) && !value.isBlank()) {
            parse(value, "environment variable " + key);
          }
        });
    if (!config.hasPath(CONFIG_PATH)) {
      return;
    }
    if (config.getValue(CONFIG_PATH).valueType() != ConfigValueType.OBJECT) {
      throw new IllegalArgumentException(
          CONFIG_PATH + " must be an object of participants, e.g. payments { url = ... }");
    }
    for (String name : config.getObject(CONFIG_PATH).keySet()) {
      String key = configKey(name);
      if (!hasString(key)) {
        throw new IllegalArgumentException(
            "participant '" + name + "' has no url: set config key " + key);
      }
      String value = config.getString(key);
      if (!value.isBlank()) {
        parse(value, "config key " + key);
      }
    }
  }

  private boolean hasString(String key) {
    try {
      return config.hasPath(key) && config.getValue(key).valueType() == ConfigValueType.STRING;
    } catch (ConfigException.BadPath | ConfigException.WrongType e) {
      return false;
    }
  }

  private static URI parse(String value, String source) {
    URI uri;
    try {
      uri = new URI(value.trim());
    } catch (URISyntaxException e) {
      throw invalid(source, value, "not a URI (" + e.getReason() + ")");
    }
    String scheme = uri.getScheme() == null ? null : uri.getScheme().toLowerCase(Locale.ROOT);
    if (!uri.isAbsolute() || !("http".equals(scheme) || "https".equals(scheme))) {
      throw invalid(source, value, "must be an absolute http:// or https:// URL");
    }
    if (uri.getHost() == null) {
      throw invalid(source, value, "has no host");
    }
    if (uri.getRawUserInfo() != null) {
      // The HTTP client would silently drop the credentials; better to say so than to 401 later.
      throw invalid(source, "(with user info)", "must not contain user info");
    }
    if (uri.getRawQuery() != null || uri.getRawFragment() != null) {
      throw invalid(source, value, "must not have a query or fragment");
    }
    return uri;
  }

  private static IllegalArgumentException invalid(String source, String value, String why) {
    return new IllegalArgumentException(
        "invalid participant URL '" + value + "' in " + source + ": " + why);
  }
}
