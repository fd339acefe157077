package io.sagaflow.sagas.demo;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Serves one demo service under {@code /{service}}: its business routes, guarded by the participant
 * contract, and the admin routes {@code /faults} and {@code /ledger}.
 *
 * <p>A business call must carry an {@code Idempotency-Key}. The first call with a key is served and
 * its answer stored (unless it was a 400, which changed nothing); every later call with that key
 * and the same request gets the stored answer with {@code Idempotent-Replayed: true} and applies
 * nothing, and one with a different request gets 422. Calls of one service are served one at a
 * time, so a repeat that arrives while the first is being served waits for its answer. An injected
 * fault answers before any of this, so it never applies or stores anything.
 */
final class ServiceEndpoint implements HttpHandler {

  static final ObjectMapper JSON =
      JsonMapper.builder()
          .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
          .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
          .build();

  static final String IDEMPOTENCY_KEY = "Idempotency-Key";
  static final String REPLAYED = "Idempotent-Replayed";
  static final int MAX_BODY_BYTES = 64 * 1024;
  static final int MAX_KEY_LENGTH = 200;

  private static final Logger log = LoggerFactory.getLogger(ServiceEndpoint.class);

  private record Request(String method, String path, JsonNode json) {}

  private record Stored(Request request, Reply reply) {}

  private final DemoService service;
  private final List<Route> routes;
  private final String prefix;
  private final FaultSwitch faults = new FaultSwitch();
  // Guarded by this; also what serializes the service's handlers.
  private final Map<String, Stored> answered = new HashMap<>();

  ServiceEndpoint(DemoService service) {
    this.service = service;
    this.routes = List.copyOf(service.routes());
    this.prefix = "/" + service.name();
  }

  @Override
  public void handle(HttpExchange exchange) {
    String sagaId = exchange.getRequestHeaders().getFirst("Saga-Id");
    if (sagaId != null) {
      MDC.put("sagaId", sagaId);
    }
    try {
      Reply reply;
      try {
        reply = dispatch(exchange, sagaId);
      } catch (RuntimeException e) {
        log.error(
            "{} failed to serve {}", service.name(), exchange.getRequestURI().getRawPath(), e);
        reply = Reply.problem(500, "internal-error", "Internal error", "the demo service failed");
      }
      send(exchange, reply);
    } catch (IOException e) {
      log.debug("{} could not answer: {}", service.name(), e.toString());
    } finally {
      MDC.remove("sagaId");
      exchange.close();
    }
  }

  private Reply dispatch(HttpExchange exchange, String sagaId) throws IOException {
    String method = exchange.getRequestMethod().toUpperCase(Locale.ROOT);
    String rawPath = exchange.getRequestURI().getRawPath();
    String path = rawPath.length() == prefix.length() ? "/" : rawPath.substring(prefix.length());
    if (!path.startsWith("/")) {
      // "/inventoryX" reaches this context too: the JDK server matches contexts by string prefix.
      return notFound(rawPath);
    }
    if (path.equals("/faults")) {
      return faultsAdmin(exchange, method);
    }
    if (path.equals("/ledger")) {
      return method.equals("GET")
          ? Reply.ok(service.ledger().toJson())
          : methodNotAllowed(method, List.of("GET"));
    }
    List<String> segments;
    try {
      segments = decode(Route.segments(path));
    } catch (IllegalArgumentException e) {
      return new BadRequest("the path is not properly percent-encoded").reply();
    }
    var allowed = new TreeSet<String>();
    for (Route route : routes) {
      Optional<Map<String, String>> params = route.match(segments);
      if (params.isPresent()) {
        if (route.method().equals(method)) {
          return business(exchange, route, params.get(), method, path, sagaId);
        }
        allowed.add(route.method());
      }
    }
    return allowed.isEmpty() ? notFound(rawPath) : methodNotAllowed(method, List.copyOf(allowed));
  }

  private Reply business(
      HttpExchange exchange,
      Route route,
      Map<String, String> params,
      String method,
      String path,
      String sagaId)
      throws IOException {
    Ledger ledger = service.ledger();
    ledger.count(Ledger.Counter.RECEIVED);
    String key = exchange.getRequestHeaders().getFirst(IDEMPOTENCY_KEY);
    Reply reply = serve(exchange, route, params, method, path, sagaId, key);
    log.info(
        "{} {} {} (key {}, attempt {}) -> {}{}",
        service.name(),
        method,
        path,
        key,
        Optional.ofNullable(exchange.getRequestHeaders().getFirst("Saga-Attempt")).orElse("-"),
        reply.status(),
        reply.outcome().isEmpty() ? "" : " " + reply.outcome());
    return reply;
  }

  private Reply serve(
      HttpExchange exchange,
      Route route,
      Map<String, String> params,
      String method,
      String path,
      String sagaId,
      String key)
      throws IOException {
    Ledger ledger = service.ledger();
    if (key == null || key.isBlank() || key.length() > MAX_KEY_LENGTH) {
      ledger.count(Ledger.Counter.INVALID);
      return Reply.problem(
          400,
          "missing-idempotency-key",
          "Missing idempotency key",
          "every call needs an "
              + IDEMPOTENCY_KEY
              + " header of 1-"
              + MAX_KEY_LENGTH
              + " characters, the same on every retry");
    }
    byte[] body = readBody(exchange);
    if (body == null) {
      ledger.count(Ledger.Counter.INVALID);
      return Reply.problem(
          413, "too-large", "Request too large", "the body exceeds " + MAX_BODY_BYTES + " bytes");
    }
    Optional<FaultSwitch.Fault> fault = faults.take();
    if (fault.isPresent()) {
      if (!pause(fault.get().delayMs())) {
        return Reply.problem(503, "shutting-down", "Shutting down", "the demo is stopping");
      }
      if (!fault.get().passThrough()) {
        ledger.count(Ledger.Counter.FAULTED);
        return fault.get().reply();
      }
    }
    JsonNode json;
    try {
      json = body.length == 0 ? null : JSON.readTree(body);
    } catch (JsonProcessingException e) {
      ledger.count(Ledger.Counter.INVALID);
      return Reply.problem(
          400,
          "malformed-json",
          "Malformed JSON",
          "the body is not JSON: " + e.getOriginalMessage());
    }
    var request = new Request(method, path, json);
    synchronized (this) {
      Stored stored = answered.get(key);
      if (stored != null) {
        if (!stored.request().equals(request)) {
          ledger.count(Ledger.Counter.INVALID);
          return Reply.problem(
              422,
              "idempotency-key-reused",
              "Idempotency key reused",
              "this key was first used for a different request ("
                  + stored.request().method()
                  + " "
                  + stored.request().path()
                  + " with another body)");
        }
        ledger.count(Ledger.Counter.REPLAYED);
        return stored.reply().withHeader(REPLAYED, "true").withOutcome("replayed");
      }
      Reply reply;
      try {
        reply = route.handler().handle(new Call(method, path, params, json, key, sagaId));
      } catch (BadRequest e) {
        ledger.count(Ledger.Counter.INVALID);
        return e.reply();
      }
      answered.put(key, new Stored(request, reply));
      if (reply.status() >= 400) {
        ledger.count(Ledger.Counter.REJECTED);
      }
      return reply;
    }
  }

  private Reply faultsAdmin(HttpExchange exchange, String method) throws IOException {
    switch (method) {
      case "GET":
        return Reply.ok(faultJson(faults.current()));
      case "DELETE":
        faults.clear();
        log.info("{} fault switch cleared", service.name());
        return Reply.noContent();
      case "POST":
        byte[] body = readBody(exchange);
        if (body == null) {
          return Reply.problem(
              413,
              "too-large",
              "Request too large",
              "the body exceeds " + MAX_BODY_BYTES + " bytes");
        }
        FaultSwitch.Fault fault;
        try {
          fault = FaultSwitch.parse(body.length == 0 ? null : JSON.readTree(body));
        } catch (JsonProcessingException e) {
          return Reply.problem(
              400,
              "malformed-json",
              "Malformed JSON",
              "the body is not JSON: " + e.getOriginalMessage());
        } catch (BadRequest e) {
          return e.reply();
        }
        faults.arm(fault);
        log.info("{} fault switch armed: {}", service.name(), fault.toJson());
        return Reply.ok(faultJson(Optional.of(fault)));
      default:
        return methodNotAllowed(method, List.of("DELETE", "GET", "POST"));
    }
  }

  private static JsonNode faultJson(Optional<FaultSwitch.Fault> fault) {
    var json = JSON.createObjectNode();
    json.set("fault", fault.map(f -> (JsonNode) f.toJson()).orElse(json.nullNode()));
    return json;
  }

  private static Reply notFound(String path) {
    return Reply.problem(404, "not-found", "Not found", "no such resource: " + path);
  }

  private static Reply methodNotAllowed(String method, List<String> allowed) {
    return Reply.problem(
            405, "method-not-allowed", "Method not allowed", method + " is not allowed here")
        .withHeader("Allow", String.join(", ", allowed));
  }

  private static List<String> decode(List<String> segments) {
    var decoded = new ArrayList<String>(segments.size());
    for (String segment : segments) {
      // URLDecoder speaks forms, where '+' means space; in a path it is a plus.
      decoded.add(URLDecoder.decode(segment.replace("+", "%2B"), StandardCharsets.UTF_8));
    }
    return decoded;
  }

  /** The body, or null when it is larger than {@link #MAX_BODY_BYTES}. */
  private static byte[] readBody(HttpExchange exchange) throws IOException {
    try (InputStream in = exchange.getRequestBody()) {
      byte[] body = in.readNBytes(MAX_BODY_BYTES + 1);
      return body.length > MAX_BODY_BYTES ? null : body;
    }
  }

  private static boolean pause(int millis) {
    if (millis == 0) {
      return true;
    }
    try {
      Thread.sleep(millis);
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  static void send(HttpExchange exchange, Reply reply) throws IOException {
    var headers = exchange.getResponseHeaders();
    reply.headers().forEach(headers::set);
    if (reply.body() == null) {
      exchange.sendResponseHeaders(reply.status(), -1);
      return;
    }
    byte[] bytes = JSON.writeValueAsBytes(reply.body());
    headers.set("Content-Type", reply.problem() ? "application/problem+json" : "application/json");
    exchange.sendResponseHeaders(reply.status(), bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
