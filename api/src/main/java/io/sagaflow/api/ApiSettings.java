package io.sagaflow.api;

import com.typesafe.config.Config;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The HTTP API's settings, read once from {@code sagaflow.http}; the API tokens come from {@code
 * SAGAFLOW_API_TOKENS} (comma-separated) and are never printed.
 */
public record ApiSettings(
    String host,
    int port,
    long maxBodyBytes,
    Duration bodyReadTimeout,
    int maxJsonDepth,
    int maxJsonStringLength,
    List<String> tokens) {

  public ApiSettings {
    tokens = List.copyOf(tokens);
  }

  public static ApiSettings fromConfig(Config config, Map<String, String> env) {
    Config http = config.getConfig("sagaflow.http");
    String raw = env.getOrDefault("SAGAFLOW_API_TOKENS", http.getString("tokens"));
    List<String> tokens =
        Arrays.stream(raw.split(",")).map(String::trim).filter(t -> !t.isEmpty()).toList();
    return new ApiSettings(
        http.getString("host"),
        http.getInt("port"),
        http.getBytes("max-body-bytes"),
        http.getDuration("body-read-timeout"),
        http.getInt("max-json-depth"),
        http.getInt("max-json-string-length"),
        tokens);
  }

  public boolean authRequired() {
    return !tokens.isEmpty();
  }

  @Override
  public String toString() {
    return "ApiSettings[host="
        + host
        + ", port="
        + port
        + ", maxBodyBytes="
        + maxBodyBytes
        + ", tokens="
        + (tokens.isEmpty() ? "none (no authentication)" : tokens.size() + " configured")
        + "]";
  }
}
