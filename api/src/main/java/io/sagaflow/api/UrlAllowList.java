package io.sagaflow.api;

import com.typesafe.config.Config;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The URLs webhooks may be sent to ({@code sagaflow.webhooks.allowed-urls}, or {@code
 * SAGAFLOW_WEBHOOK_ALLOWED_URLS} comma-separated): a URL is allowed when an entry has its scheme,
 * host and port, and a path that is a prefix of its path at a segment boundary. Nothing else is
 * reached: no other host, no credentials in the URL, no redirects (the sender follows none).
 */
public final class UrlAllowList {
  static final String RULE = "sagaflow.webhooks.allowed-urls (SAGAFLOW_WEBHOOK_ALLOWED_URLS)";
  static final String ENV = "SAGAFLOW_WEBHOOK_ALLOWED_URLS";

  private final List<URI> allowed;

  UrlAllowList(List<String> allowed) {
    this.allowed =
        allowed.stream()
            .map(
                entry ->
                    parse(entry)
                        .orElseThrow(
                            () ->
                                new IllegalArgumentException(
                                    RULE + ": not an http(s) URL: '" + entry + "'")))
            .toList();
  }

  public static UrlAllowList fromConfig(Config config, Map<String, String> env) {
    String raw = env.get(ENV);
    List<String> entries =
        raw != null
            ? Arrays.stream(raw.split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList()
            : config.getStringList("sagaflow.webhooks.allowed-urls");
    return new UrlAllowList(entries);
  }

  /** Why {@code url} may not be a webhook's target; empty when it may. */
  public Optional<String> refusal(String url) {
    Optional<URI> target = parse(url);
    if (target.isEmpty()) {
      return Optional.of("'url' must be an absolute http or https URL without credentials");
    }
    for (URI entry : allowed) {
      if (matches(entry, target.get())) {
        return Optional.empty();
      }
    }
    return Optional.of(
        "the url is not allowed by "
            + RULE
            + (allowed.isEmpty()
                ? ", which is empty: no webhook target is allowed"
                : ", which allows " + allowed));
  }

  private static boolean matches(URI entry, URI target) {
    if (!entry.getScheme().equals(target.getScheme())
        || !entry.getHost().equals(target.getHost())
        || port(entry) != port(target)) {
      return false;
    }
    String prefix = path(entry);
    String path = path(target);
    return prefix.endsWith("/")
        ? path.startsWith(prefix)
        : path.equals(prefix) || path.startsWith(prefix + "/");
  }

  private static Optional<URI> parse(String url) {
    try {
      URI uri = new URI(url).normalize();
      String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
      if (!(scheme.equals("http") || scheme.equals("https"))
          || uri.getHost() == null
          || uri.getRawUserInfo() != null
          || uri.getRawFragment() != null
          || uri.getRawPath() == null
          || uri.getRawPath().contains("/../")) {
        return Optional.empty();
      }
      return Optional.of(
          new URI(
              scheme,
              null,
              uri.getHost().toLowerCase(Locale.ROOT),
              uri.getPort(),
              uri.getPath(),
              uri.getQuery(),
              null));
    } catch (URISyntaxException e) {
      return Optional.empty();
    }
  }

  private static int port(URI uri) {
    return uri.getPort() != -1 ? uri.getPort() : uri.getScheme().equals("https") ? 443 : 80;
  }

  private static String path(URI uri) {
    return uri.getPath() == null || uri.getPath().isEmpty() ? "/" : uri.getPath();
  }
}
