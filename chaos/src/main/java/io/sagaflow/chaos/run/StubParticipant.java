package io.sagaflow.chaos.run;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.sagaflow.chaos.format.Jsonl;
import io.sagaflow.chaos.format.LedgerEntry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * STUB until {@code ChaosParticipant} lands (see {@link Collaborators}): the participants alpha,
 * beta and gamma on one port, with the same command line and control endpoints, but no fault mix:
 * every call succeeds except during a storm ({@code POST /control/storm?seconds=N}: 503 for N s).
 * It keeps a ledger ({@link LedgerEntry}) of every delivery and dedupes by {@code Idempotency-Key}.
 *
 * <p>{@code StubParticipant --port P --seed S --ledger FILE [--mix SPEC]}; prints {@code chaos
 * participant listening on port N}; SIGTERM stops it.
 */
public final class StubParticipant {
  private final Jsonl.Writer ledger;
  private final Map<String, Integer> deliveries = new ConcurrentHashMap<>();
  private final Set<String> applied = ConcurrentHashMap.newKeySet();
  private final Set<String> compensated = ConcurrentHashMap.newKeySet();
  private final AtomicLong calls = new AtomicLong();
  private final AtomicLong stormed = new AtomicLong();
  private volatile long stormUntil;

  private StubParticipant(Jsonl.Writer ledger) {
    this.ledger = ledger;
  }

  public static void main(String[] args) throws IOException {
    int port = 0;
    Path ledgerFile = null;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--port" -> port = Integer.parseInt(args[i + 1]);
        case "--ledger" -> ledgerFile = Path.of(args[i + 1]);
        default -> {
          // --seed and --mix: this stub injects no faults of its own.
        }
      }
    }
    if (ledgerFile == null) {
      throw new IllegalArgumentException("--ledger is required");
    }
    var participant = new StubParticipant(new Jsonl.Writer(ledgerFile));
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 256);
    server.createContext("/", participant::handle);
    server.setExecutor(Executors.newFixedThreadPool(16));
    server.start();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> server.stop(0), "stub-participant-stop"));
    System.out.println("chaos participant listening on port " + server.getAddress().getPort());
    System.out.flush();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      try (InputStream in = exchange.getRequestBody()) {
        in.readAllBytes();
      }
      String path = exchange.getRequestURI().getPath();
      if (path.equals("/control/storm")) {
        String query = exchange.getRequestURI().getQuery();
        long seconds = Long.parseLong(query.replaceAll(".*seconds=(\\d+).*", "$1"));
        stormUntil = System.currentTimeMillis() + seconds * 1000;
        answer(exchange, 200, "{\"stormSeconds\":" + seconds + "}");
        return;
      }
      if (path.equals("/control/stats")) {
        answer(exchange, 200, "{\"calls\":" + calls.get() + ",\"storm\":" + stormed.get() + "}");
        return;
      }
      call(exchange, path);
    }
  }

  private void call(HttpExchange exchange, String path) throws IOException {
    long received = System.currentTimeMillis();
    calls.incrementAndGet();
    String[] parts = path.split("/");
    String key = exchange.getRequestHeaders().getFirst("Idempotency-Key");
    if (parts.length < 3 || key == null) {
      answer(exchange, 400, "{\"error\":\"no participant, step or Idempotency-Key\"}");
      return;
    }
    String participant = parts[1];
    String step = parts[2];
    boolean compensation = parts.length > 3 && parts[3].equals("undo");
    String sagaId = key.contains("/") ? key.substring(0, key.indexOf('/')) : key;
    int delivery = deliveries.merge(key, 1, Integer::sum);
    LedgerEntry.Effect effect;
    String fault = "none";
    int status = 200;
    if (System.currentTimeMillis() < stormUntil) {
      stormed.incrementAndGet();
      fault = "storm";
      effect = LedgerEntry.Effect.ERROR;
      status = 503;
    } else if (compensation) {
      String forwardKey = sagaId + "/" + step;
      if (!compensated.add(forwardKey)) {
        effect = LedgerEntry.Effect.DEDUPLICATED;
      } else {
        effect = applied.contains(forwardKey) ? LedgerEntry.Effect.UNDONE : LedgerEntry.Effect.NOOP;
      }
    } else if (compensated.contains(key)) {
      effect = LedgerEntry.Effect.REFUSED_AFTER_COMPENSATION;
      status = 409;
    } else {
      effect = applied.add(key) ? LedgerEntry.Effect.APPLIED : LedgerEntry.Effect.DEDUPLICATED;
    }
    String body =
        status == 200
            ? "{\"participant\":\"" + participant + "\",\"step\":\"" + step + "\"}"
            : "{\"error\":\"" + fault + "\"}";
    answer(exchange, status, body);
    ledger.write(
        new LedgerEntry(
            received,
            System.currentTimeMillis(),
            participant,
            sagaId,
            step,
            compensation ? LedgerEntry.Call.COMPENSATION : LedgerEntry.Call.FORWARD,
            key,
            delivery,
            fault,
            effect,
            status));
  }

  private static void answer(HttpExchange exchange, int status, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }
}
