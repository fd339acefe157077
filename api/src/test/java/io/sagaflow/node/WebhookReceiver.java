package io.sagaflow.node;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A real HTTP webhook receiver for tests, on a port it keeps across {@link #down()} and {@link
 * #up()}: records every delivery it accepts (2xx), and can refuse the next ones or all with 503.
 */
final class WebhookReceiver implements AutoCloseable {

  /** One accepted delivery: the Standard Webhooks headers and the body. */
  record Delivery(String path, String id, String timestamp, String signature, String body) {}

  private final int port;
  private HttpServer server;
  private final AtomicInteger failNext = new AtomicInteger();
  private volatile boolean failAll;
  private final AtomicInteger refused = new AtomicInteger();
  private final List<Delivery> accepted = new ArrayList<>();

  private WebhookReceiver(HttpServer server) {
    this.server = server;
    this.port = server.getAddress().getPort();
  }

  static WebhookReceiver start() {
    var receiver = new WebhookReceiver(bind(0));
    receiver.serve();
    return receiver;
  }

  private static HttpServer bind(int port) {
    try {
      return HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), port), 64);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void serve() {
    server.createContext("/", this::handle);
    server.start();
  }

  String baseUrl() {
    return "http://127.0.0.1:" + port;
  }

  /** Refuses the next {@code n} deliveries with 503. */
  void failNext(int n) {
    failNext.set(n);
  }

  void failAll(boolean fail) {
    failAll = fail;
  }

  int refused() {
    return refused.get();
  }

  /** Stops listening: deliveries meet a refused connection. */
  synchronized void down() {
    server.stop(0);
  }

  synchronized void up() {
    server = bind(port);
    serve();
  }

  synchronized List<Delivery> accepted(String path) {
    return accepted.stream().filter(d -> d.path().equals(path)).toList();
  }

  private void handle(HttpExchange exchange) throws IOException {
    byte[] body = exchange.getRequestBody().readAllBytes();
    boolean refuse = failAll || failNext.getAndUpdate(n -> Math.max(0, n - 1)) > 0;
    if (refuse) {
      refused.incrementAndGet();
      exchange.sendResponseHeaders(503, -1);
    } else {
      synchronized (this) {
        accepted.add(
            new Delivery(
                exchange.getRequestURI().getPath(),
                exchange.getRequestHeaders().getFirst("webhook-id"),
                exchange.getRequestHeaders().getFirst("webhook-timestamp"),
                exchange.getRequestHeaders().getFirst("webhook-signature"),
                new String(body, StandardCharsets.UTF_8)));
      }
      exchange.sendResponseHeaders(204, -1);
    }
    exchange.close();
  }

  @Override
  public synchronized void close() {
    server.stop(0);
  }
}
