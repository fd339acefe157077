package io.sagaflow.node;

import com.google.protobuf.ByteString;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
import io.opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse;
import io.opentelemetry.proto.common.v1.AnyValue;
import io.opentelemetry.proto.common.v1.KeyValue;
import io.opentelemetry.proto.trace.v1.ResourceSpans;
import io.opentelemetry.proto.trace.v1.ScopeSpans;
import io.opentelemetry.proto.trace.v1.Span;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.zip.GZIPInputStream;

/**
 * A real OTLP/HTTP trace receiver for tests, on the JDK's HTTP server: {@code POST /v1/traces} with
 * an {@code ExportTraceServiceRequest} in protobuf, decoded and kept; every other request is
 * counted too, and answered 404.
 */
final class OtlpReceiver implements AutoCloseable {

  /** One span as received; ids in lower-case hex, {@code parentSpanId} empty for a root. */
  record ReceivedSpan(
      String service,
      String name,
      Span.SpanKind kind,
      String traceId,
      String spanId,
      String parentSpanId,
      Map<String, String> attributes,
      io.opentelemetry.proto.trace.v1.Status.StatusCode status,
      String statusMessage) {

    String attribute(String key) {
      return attributes.get(key);
    }
  }

  private final HttpServer server;
  private final Object monitor = new Object();
  private final List<ReceivedSpan> spans = new ArrayList<>();
  private int requests;

  private OtlpReceiver(HttpServer server) {
    this.server = server;
  }

  static OtlpReceiver start() {
    try {
      HttpServer server =
          HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 64);
      OtlpReceiver receiver = new OtlpReceiver(server);
      server.createContext("/", receiver::handle);
      server.start();
      return receiver;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the OTLP receiver", e);
    }
  }

  /** What {@code OTEL_EXPORTER_OTLP_ENDPOINT} points to: {@code http://127.0.0.1:<port>}. */
  String endpoint() {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  /** How many requests of any kind arrived. */
  int requests() {
    synchronized (monitor) {
      return requests;
    }
  }

  List<ReceivedSpan> spans() {
    synchronized (monitor) {
      return List.copyOf(spans);
    }
  }

  /**
   * Waits until at least {@code n} received spans match and returns those that do.
   *
   * @throws AssertionError listing what did arrive, when the deadline passes first
   */
  List<ReceivedSpan> awaitSpans(Predicate<ReceivedSpan> which, int n, Duration deadline) {
    long until = System.nanoTime() + deadline.toNanos();
    synchronized (monitor) {
      while (true) {
        List<ReceivedSpan> matching = spans.stream().filter(which).toList();
        if (matching.size() >= n) {
          return matching;
        }
        long left = until - System.nanoTime();
        if (left <= 0) {
          throw new AssertionError(
              "expected " + n + " matching spans within " + deadline + "; received " + spans);
        }
        try {
          TimeUnit.NANOSECONDS.timedWait(monitor, left);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new AssertionError("interrupted", e);
        }
      }
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      byte[] body;
      try (InputStream in = body(exchange)) {
        body = in.readAllBytes();
      }
      synchronized (monitor) {
        requests++;
        monitor.notifyAll();
      }
      if (!exchange.getRequestMethod().equals("POST")
          || !exchange.getRequestURI().getPath().equals("/v1/traces")) {
        exchange.sendResponseHeaders(404, -1);
        return;
      }
      List<ReceivedSpan> received = decode(ExportTraceServiceRequest.parseFrom(body));
      synchronized (monitor) {
        spans.addAll(received);
        monitor.notifyAll();
      }
      byte[] answer = ExportTraceServiceResponse.getDefaultInstance().toByteArray();
      exchange.getResponseHeaders().set("Content-Type", "application/x-protobuf");
      exchange.sendResponseHeaders(200, answer.length == 0 ? -1 : answer.length);
      if (answer.length > 0) {
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(answer);
        }
      }
    }
  }

  private static InputStream body(HttpExchange exchange) throws IOException {
    String encoding = exchange.getRequestHeaders().getFirst("Content-Encoding");
    InputStream in = exchange.getRequestBody();
    return "gzip".equalsIgnoreCase(encoding) ? new GZIPInputStream(in) : in;
  }

  private static List<ReceivedSpan> decode(ExportTraceServiceRequest request) {
    var decoded = new ArrayList<ReceivedSpan>();
    for (ResourceSpans resource : request.getResourceSpansList()) {
      String service = text(resource.getResource().getAttributesList()).get("service.name");
      for (ScopeSpans scope : resource.getScopeSpansList()) {
        for (Span span : scope.getSpansList()) {
          decoded.add(
              new ReceivedSpan(
                  service,
                  span.getName(),
                  span.getKind(),
                  hex(span.getTraceId()),
                  hex(span.getSpanId()),
                  hex(span.getParentSpanId()),
                  text(span.getAttributesList()),
                  span.getStatus().getCode(),
                  span.getStatus().getMessage()));
        }
      }
    }
    return decoded;
  }

  private static String hex(ByteString bytes) {
    return HexFormat.of().formatHex(bytes.toByteArray());
  }

  /** Attributes with every value as text: strings as they are, numbers and booleans printed. */
  private static Map<String, String> text(List<KeyValue> attributes) {
    var map = new HashMap<String, String>();
    for (KeyValue kv : attributes) {
      AnyValue v = kv.getValue();
      String value =
          switch (v.getValueCase()) {
            case STRING_VALUE -> v.getStringValue();
            case INT_VALUE -> Long.toString(v.getIntValue());
            case BOOL_VALUE -> Boolean.toString(v.getBoolValue());
            case DOUBLE_VALUE -> Double.toString(v.getDoubleValue());
            default -> v.toString();
          };
      map.put(kv.getKey(), value);
    }
    return Map.copyOf(map);
  }
}
