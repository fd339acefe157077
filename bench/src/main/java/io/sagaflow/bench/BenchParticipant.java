package io.sagaflow.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.LongAdder;

/**
 * The benchmark's HTTP participant, run in its own JVM so that its cost does not count as the
 * node's: {@code java -cp sagaflow-bench.jar io.sagaflow.bench.BenchParticipant [port]}. It answers
 * every {@code POST} at once with {@code 200 {}}, and {@code 422} when the path ends in {@code
 * /reject}. It counts calls per path and checks that no {@code Idempotency-Key} arrives twice;
 * {@code GET /stats} reports both. Once listening it prints {@value #READY} and the port on stdout;
 * it stops on SIGTERM.
 */
public final class BenchParticipant {

  /** The line prefix that says the participant is listening; the port follows. */
  public static final String READY = "bench participant listening on port ";

  private static final byte[] EMPTY_OBJECT = "{}".getBytes(StandardCharsets.UTF_8);
  private static final byte[] REJECTED =
      "{\"error\":\"rejected by the benchmark\"}".getBytes(StandardCharsets.UTF_8);

  private final Map<String, LongAdder> calls = new ConcurrentHashMap<>();
  private final Map<String, Boolean> keys = new ConcurrentHashMap<>();
  private final LongAdder repeatedKeys = new LongAdder();
  private final LongAdder missingKeys = new LongAdder();

  private BenchParticipant() {}

  public static void main(String[] args) throws IOException, InterruptedException {
    // Without it the JDK server leaves Nagle's algorithm on: small answers wait for delayed ACKs.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    int port = args.length > 0 ? Integer.parseInt(args[0]) : 0;
    int threads = Math.max(4, 2 * Runtime.getRuntime().availableProcessors());
    ExecutorService executor = Executors.newFixedThreadPool(threads);
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1024);
    var participant = new BenchParticipant();
    server.createContext("/", participant::handle);
    server.setExecutor(executor);
    server.start();
    var stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  server.stop(0);
                  executor.shutdownNow();
                  stopped.countDown();
                }));
    System.out.println(READY + server.getAddress().getPort());
    System.out.flush();
    stopped.await();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange;
        InputStream body = exchange.getRequestBody()) {
      body.readAllBytes();
      String path = exchange.getRequestURI().getPath();
      if (exchange.getRequestMethod().equals("GET") && path.equals("/stats")) {
        respond(exchange, 200, stats().getBytes(StandardCharsets.UTF_8));
        return;
      }
      if (!exchange.getRequestMethod().equals("POST") || path.length() < 2) {
        respond(exchange, 404, EMPTY_OBJECT);
        return;
      }
      boolean reject = path.endsWith("/reject");
      String call = path.substring(1, reject ? path.length() - "/reject".length() : path.length());
      calls.computeIfAbsent(call, c -> new LongAdder()).increment();
      String key = exchange.getRequestHeaders().getFirst("Idempotency-Key");
      if (key == null) {
        missingKeys.increment();
      } else if (keys.putIfAbsent(key, Boolean.TRUE) != null) {
        repeatedKeys.increment();
      }
      respond(exchange, reject ? 422 : 200, reject ? REJECTED : EMPTY_OBJECT);
    }
  }

  private static void respond(HttpExchange exchange, int status, byte[] body) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, body.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(body);
    }
  }

  /** {@code {"calls":{"step-1":n,...},"keys":n,"repeatedKeys":n,"missingKeys":n}} */
  private String stats() {
    var json = new StringBuilder("{\"calls\":{");
    var sorted = new TreeMap<String, LongAdder>(calls);
    boolean first = true;
    for (var e : sorted.entrySet()) {
      if (!first) {
        json.append(',');
      }
      first = false;
      json.append('"').append(e.getKey().replace("\"", "")).append("\":").append(e.getValue());
    }
    return json.append("},\"keys\":")
        .append(keys.size())
        .append(",\"repeatedKeys\":")
        .append(repeatedKeys.sum())
        .append(",\"missingKeys\":")
        .append(missingKeys.sum())
        .append('}')
        .toString();
  }
}
