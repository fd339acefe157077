package io.sagaflow.api;

import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.mapResponse;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The HTTP API's requests as {@code http_server_requests_seconds{method,route,status}}: from the
 * request to its response's headers (a streamed body is not waited for). {@code route} is the route
 * template ({@code /v1/sagas/{id}}), never the path, so that saga ids stay out of the labels and
 * the series stay few; a path no route serves is {@code other}.
 */
public final class HttpMetrics {

  /** A path that no route template matches. */
  static final String OTHER = "other";

  private static final Set<String> METHODS =
      Set.of("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS");

  /** The templates of /v1/sagas/{id}/<action>. */
  private static final Set<String> SAGA_ACTIONS = Set.of("events", "cancel", "retry");

  private static final Duration[] BUCKETS = {
    Duration.ofMillis(5),
    Duration.ofMillis(10),
    Duration.ofMillis(25),
    Duration.ofMillis(50),
    Duration.ofMillis(100),
    Duration.ofMillis(250),
    Duration.ofMillis(500),
    Duration.ofSeconds(1),
    Duration.ofMillis(2500),
    Duration.ofSeconds(5),
    Duration.ofSeconds(10),
    Duration.ofSeconds(30)
  };

  private record Key(String method, String route, int status) {}

  private final MeterRegistry registry;
  private final Map<Key, Timer> timers = new ConcurrentHashMap<>();

  public HttpMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  /**
   * {@code inner} (built once, not per request), each of its responses measured; a request it
   * rejects or fails is not: the routes it wraps answer every request themselves.
   */
  public Route measured(Route inner) {
    return extractRequest(
        request -> {
          long started = System.nanoTime();
          String method = method(request.method().value());
          String route = route(request.getUri().path());
          return mapResponse(
              response -> {
                timer(method, route, response.status().intValue())
                    .record(System.nanoTime() - started, TimeUnit.NANOSECONDS);
                return response;
              },
              () -> inner);
        });
  }

  private Timer timer(String method, String route, int status) {
    var key = new Key(method, route, status);
    Timer timer = timers.get(key);
    if (timer != null) {
      return timer;
    }
    return timers.computeIfAbsent(
        key,
        k ->
            Timer.builder("http.server.requests")
                .description("Requests to the HTTP API, by route template and status")
                .tag("method", k.method())
                .tag("route", k.route())
                .tag("status", String.valueOf(k.status()))
                .serviceLevelObjectives(BUCKETS)
                .register(registry));
  }

  private static String method(String method) {
    return METHODS.contains(method) ? method : OTHER;
  }

  /**
   * The route template that serves {@code path}, or {@link #OTHER}: every route of the API (and
   * those DESIGN.md plans), with each path segment that is a value (a saga id, a type, a signal)
   * replaced by its name.
   */
  static String route(String path) {
    if (path.equals("/") || path.isEmpty()) {
      return "/";
    }
    List<String> s = List.of(path.substring(1).split("/", -1));
    if (s.size() == 1 && (s.get(0).equals("metrics") || s.get(0).equals("openapi.yaml"))) {
      return path;
    }
    if (s.size() == 2 && s.get(0).equals("ui") && !s.get(1).isEmpty()) {
      return "/ui/{file}";
    }
    if (s.size() < 2 || !s.get(0).equals("v1") || s.stream().anyMatch(String::isEmpty)) {
      return OTHER;
    }
    String collection = s.get(1);
    int n = s.size();
    switch (collection) {
      case "sagas" -> {
        if (n == 2) {
          return "/v1/sagas";
        }
        if (n == 3) {
          return "/v1/sagas/{id}";
        }
        if (n == 4 && SAGA_ACTIONS.contains(s.get(3))) {
          return "/v1/sagas/{id}/" + s.get(3);
        }
        if (n == 5 && s.get(3).equals("signals")) {
          return "/v1/sagas/{id}/signals/{name}";
        }
        return OTHER;
      }
      case "saga-types" -> {
        return n == 2 ? "/v1/saga-types" : n == 3 ? "/v1/saga-types/{type}" : OTHER;
      }
      case "subscriptions" -> {
        if (n == 4 && s.get(3).equals("resume")) {
          return "/v1/subscriptions/{id}/resume";
        }
        return n == 2 ? "/v1/subscriptions" : n == 3 ? "/v1/subscriptions/{id}" : OTHER;
      }
      case "events" -> {
        return n == 2 ? "/v1/events" : OTHER;
      }
      default -> {
        return OTHER;
      }
    }
  }
}
