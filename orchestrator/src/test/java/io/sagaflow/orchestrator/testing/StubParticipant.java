package io.sagaflow.orchestrator.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * A real HTTP participant for tests: records every call, applies each effect once per {@code
 * Idempotency-Key}, and answers as programmed per path.
 *
 * <p>It behaves like a well-made participant. The first call with a key that gets a 2xx applies the
 * effect (one ledger entry) and stores the response; every later call with that key gets the stored
 * response without applying again, and a call that arrives while the first is still being worked on
 * waits for it instead of applying in parallel. A call whose answer is not 2xx applies nothing, so
 * the next call with that key is served afresh. A call without a key applies on every 2xx.
 *
 * <p>Programming, per path: {@code stub.on("/payments/charge").failTimes(2, 503).respond(200,
 * "{\"id\":1}")}. A path ending in {@code *} matches by prefix (the longest pattern wins). Paths
 * nobody programmed answer 200 {@code {"ok":true,"path":...}}. Built on the JDK's HTTP server, so
 * it runs in any JVM, with a thread per concurrent call so that many slow calls can be in flight.
 */
public final class StubParticipant implements AutoCloseable {

  /** The header participants dedupe on. */
  public static final String IDEMPOTENCY_KEY = "Idempotency-Key";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpServer server;
  private final ExecutorService executor;
  private final Map<String, Route> routes = new ConcurrentHashMap<>();
  private final Map<String, Effect> ledger = new ConcurrentHashMap<>();
  private final AtomicInteger keylessApplied = new AtomicInteger();
  private final AtomicLong sequence = new AtomicLong();
  // Guards calls and is notified on every call and every applied effect, for the await methods.
  private final Object monitor = new Object();
  private final List<Call> calls = new ArrayList<>();

  private StubParticipant(HttpServer server, ExecutorService executor) {
    this.server = server;
    this.executor = executor;
  }

  /** Starts a stub on 127.0.0.1 on a free port. */
  public static StubParticipant start() {
    AtomicInteger threads = new AtomicInteger();
    ThreadFactory factory =
        runnable -> {
          Thread thread = new Thread(runnable, "stub-participant-" + threads.incrementAndGet());
          thread.setDaemon(true);
          return thread;
        };
    ExecutorService executor = Executors.newCachedThreadPool(factory);
    try {
      HttpServer server =
          HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 1024);
      StubParticipant stub = new StubParticipant(server, executor);
      server.createContext("/", stub::handle);
      server.setExecutor(executor);
      server.start();
      return stub;
    } catch (IOException e) {
      executor.shutdownNow();
      throw new UncheckedIOException("cannot start stub participant", e);
    }
  }

  /** {@code http://127.0.0.1:<port>}, without a trailing slash. */
  public String baseUrl() {
    return "http://127.0.0.1:" + port();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /**
   * The programme for {@code path} (exact, or a prefix when it ends in {@code *}); calling it again
   * with the same path returns the same programme.
   */
  public Route on(String path) {
    return routes.computeIfAbsent(Objects.requireNonNull(path, "path"), Route::new);
  }

  /** Every call so far, in arrival order. */
  public List<Call> calls() {
    synchronized (monitor) {
      return List.copyOf(calls);
    }
  }

  /** The calls whose path matches {@code path} (exact, or a prefix when it ends in {@code *}). */
  public List<Call> calls(String path) {
    synchronized (monitor) {
      return calls.stream().filter(c -> matches(path, c.path())).toList();
    }
  }

  /**
   * Waits until at least {@code n} calls matched {@code path} and returns them.
   *
   * @throws AssertionError listing what did arrive, when the deadline passes first
   */
  public List<Call> awaitCalls(String path, int n, Duration deadline) {
    long until = System.nanoTime() + deadline.toNanos();
    synchronized (monitor) {
      while (true) {
        List<Call> matching = calls.stream().filter(c -> matches(path, c.path())).toList();
        if (matching.size() >= n) {
          return matching;
        }
        waitUntil(
            until,
            () ->
                "expected "
                    + n
                    + " calls to "
                    + path
                    + " within "
                    + deadline
                    + " but got "
                    + matching.size()
                    + "; all calls: "
                    + summary());
      }
    }
  }

  /**
   * Waits until the effect of {@code idempotencyKey} has been applied.
   *
   * @throws AssertionError when the deadline passes first
   */
  public void awaitApplied(String idempotencyKey, Duration deadline) {
    long until = System.nanoTime() + deadline.toNanos();
    synchronized (monitor) {
      while (timesApplied(idempotencyKey) == 0) {
        waitUntil(
            until,
            () ->
                "effect " + idempotencyKey + " not applied within " + deadline + ": " + summary());
      }
    }
  }

  /** How many effects were applied: distinct keys that got a 2xx, plus 2xx calls without a key. */
  public int appliedEffects() {
    return appliedKeys().size() + keylessApplied.get();
  }

  /** The idempotency keys whose effect was applied. */
  public Set<String> appliedKeys() {
    return ledger.entrySet().stream()
        .filter(e -> e.getValue().applied > 0)
        .map(Map.Entry::getKey)
        .collect(Collectors.toUnmodifiableSet());
  }

  /** How often the effect of {@code idempotencyKey} was applied: 0 or 1 for a correct stub. */
  public int timesApplied(String idempotencyKey) {
    Effect effect = ledger.get(idempotencyKey);
    return effect == null ? 0 : effect.applied;
  }

  /** The most any one key was applied; exactly-once checks assert it is at most 1. */
  public int maxTimesApplied() {
    return ledger.values().stream().mapToInt(e -> e.applied).max().orElse(0);
  }

  /** Forgets calls, effects and programmes, as if freshly started on the same port. */
  public void reset() {
    synchronized (monitor) {
      calls.clear();
      routes.clear();
      ledger.clear();
      keylessApplied.set(0);
    }
  }

  @Override
  public void close() {
    server.stop(0);
    // Interrupts calls still inside a delay, so a test's slow participant does not outlive it.
    executor.shutdownNow();
  }

  private void handle(HttpExchange exchange) throws IOException {
    try {
      Instant arrivedAt = Instant.now();
      byte[] body = exchange.getRequestBody().readAllBytes();
      Map<String, List<String>> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
      exchange
          .getRequestHeaders()
          .forEach((name, values) -> headers.put(name, List.copyOf(values)));
      Call call =
          new Call(
              sequence.incrementAndGet(),
              exchange.getRequestMethod(),
              exchange.getRequestURI().getRawPath(),
              exchange.getRequestURI().getRawQuery(),
              Collections.unmodifiableMap(headers),
              new String(body, StandardCharsets.UTF_8),
              arrivedAt);
      record(call);
      Response response;
      try {
        response = answer(call);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (RuntimeException e) {
        response = Response.json(500, jsonObject("error", "stub handler failed: " + e));
      }
      send(exchange, call, response);
    } finally {
      exchange.close();
    }
  }

  private Response answer(Call call) throws InterruptedException {
    Route route = routeFor(call.path());
    Optional<String> key = call.idempotencyKey();
    if (key.isEmpty()) {
      route.work();
      Response response = route.next(call);
      if (response.isSuccess()) {
        keylessApplied.incrementAndGet();
        notifyWaiters();
      }
      return response;
    }
    Effect effect = ledger.computeIfAbsent(key.get(), k -> new Effect());
    // One call per key at a time: a duplicate that arrives mid-work waits and then replays.
    effect.lock.lockInterruptibly();
    try {
      if (effect.stored != null) {
        return effect.stored;
      }
      route.work();
      Response response = route.next(call);
      if (response.isSuccess()) {
        effect.applied++;
        effect.stored = response;
        notifyWaiters();
      }
      return response;
    } finally {
      effect.lock.unlock();
    }
  }

  private void send(HttpExchange exchange, Call call, Response response) throws IOException {
    response.headers().forEach((name, value) -> exchange.getResponseHeaders().set(name, value));
    byte[] bytes =
        response.body() == null ? new byte[0] : response.body().getBytes(StandardCharsets.UTF_8);
    int status = response.status();
    boolean noBody =
        bytes.length == 0
            || status == 204
            || status == 304
            || status < 200
            || call.method().equals("HEAD");
    if (noBody) {
      exchange.sendResponseHeaders(status, -1);
      return;
    }
    // 0 makes the JDK server send the body chunked, with no Content-Length.
    exchange.sendResponseHeaders(status, response.chunked() ? 0 : bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  private void record(Call call) {
    synchronized (monitor) {
      calls.add(call);
      monitor.notifyAll();
    }
  }

  private void notifyWaiters() {
    synchronized (monitor) {
      monitor.notifyAll();
    }
  }

  // Caller holds the monitor.
  private void waitUntil(long untilNanos, Supplier<String> failure) {
    long left = untilNanos - System.nanoTime();
    if (left <= 0) {
      throw new AssertionError(failure.get());
    }
    try {
      TimeUnit.NANOSECONDS.timedWait(monitor, left);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted: " + failure.get(), e);
    }
  }

  private String summary() {
    return calls.stream()
        .map(
            c ->
                c.method()
                    + " "
                    + c.path()
                    + c.idempotencyKey().map(k -> " [" + k + "]").orElse(""))
        .collect(Collectors.joining(", ", "[", "]"));
  }

  private Route routeFor(String path) {
    Route exact = routes.get(path);
    if (exact != null) {
      return exact;
    }
    Route best = null;
    for (Route route : routes.values()) {
      if (route.pattern.endsWith("*")
          && matches(route.pattern, path)
          && (best == null || route.pattern.length() > best.pattern.length())) {
        best = route;
      }
    }
    return best != null ? best : new Route(path);
  }

  private static boolean matches(String pattern, String path) {
    return pattern.endsWith("*")
        ? path.startsWith(pattern.substring(0, pattern.length() - 1))
        : pattern.equals(path);
  }

  private static String jsonObject(Object... keysAndValues) {
    Map<String, Object> fields = new LinkedHashMap<>();
    for (int i = 0; i + 1 < keysAndValues.length; i += 2) {
      fields.put((String) keysAndValues[i], keysAndValues[i + 1]);
    }
    try {
      return JSON.writeValueAsString(fields);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static final class Effect {
    final ReentrantLock lock = new ReentrantLock();
    // Written under lock; read unlocked by the assertion helpers, hence volatile.
    volatile int applied;
    volatile Response stored;
  }

  /** One request as the stub received it. */
  public record Call(
      long sequence,
      String method,
      String path,
      String query,
      Map<String, List<String>> headers,
      String body,
      Instant arrivedAt) {

    /** The first value of header {@code name}, matched case-insensitively. */
    public Optional<String> header(String name) {
      List<String> values = headers.get(name);
      return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.get(0));
    }

    public Optional<String> idempotencyKey() {
      return header(IDEMPOTENCY_KEY);
    }

    /** The {@code Saga-Attempt} header as a number, when present and numeric. */
    public OptionalInt sagaAttempt() {
      return header("Saga-Attempt")
          .filter(v -> v.matches("\\d{1,9}"))
          .map(v -> OptionalInt.of(Integer.parseInt(v)))
          .orElse(OptionalInt.empty());
    }

    /** The body parsed as JSON. */
    public JsonNode bodyJson() {
      try {
        return JSON.readTree(body);
      } catch (IOException e) {
        throw new UncheckedIOException("call body is not JSON: " + body, e);
      }
    }
  }

  /**
   * What the stub answers.
   *
   * @param body the body text; {@code null} or empty for none
   * @param chunked send the body chunked, without {@code Content-Length}
   */
  public record Response(int status, String body, Map<String, String> headers, boolean chunked) {

    public Response {
      headers = Map.copyOf(headers);
    }

    public static Response json(int status, String body) {
      return new Response(status, body, Map.of("Content-Type", "application/json"), false);
    }

    public static Response text(int status, String body) {
      return new Response(status, body, Map.of("Content-Type", "text/plain; charset=utf-8"), false);
    }

    public static Response empty(int status) {
      return new Response(status, null, Map.of(), false);
    }

    public Response withHeader(String name, String value) {
      Map<String, String> more = new HashMap<>(headers);
      more.put(name, value);
      return new Response(status, body, more, chunked);
    }

    public Response withChunkedBody() {
      return new Response(status, body, headers, true);
    }

    public boolean isSuccess() {
      return status >= 200 && status <= 299;
    }
  }

  /** How the stub answers the calls to one path; every setter returns the route for chaining. */
  public static final class Route {
    private final String pattern;
    private final AtomicInteger failuresLeft = new AtomicInteger();
    private volatile int failureStatus;
    private volatile Function<Call, Response> then;
    private volatile Duration delay = Duration.ZERO;
    private volatile String retryAfter;

    private Route(String pattern) {
      this.pattern = pattern;
    }

    /** Answer {@code status} with this JSON body (after any scripted failures). */
    public Route respond(int status, String jsonBody) {
      return respond(Response.json(status, jsonBody));
    }

    /** Answer with {@code response} (after any scripted failures). */
    public Route respond(Response response) {
      Objects.requireNonNull(response, "response");
      return handle(call -> response);
    }

    /** Answer every call with {@code status} and a small JSON error body. */
    public Route alwaysStatus(int status) {
      return respond(Response.json(status, jsonObject("error", "stubbed " + status)));
    }

    /**
     * The next {@code times} calls to this path (whatever their key) answer {@code status}, then
     * the route answers as programmed otherwise.
     */
    public Route failTimes(int times, int status) {
      this.failureStatus = status;
      failuresLeft.set(times);
      return this;
    }

    /**
     * Work this long before answering: a participant that is slow, or still busy when the caller
     * gives up. The effect is applied at the end of the delay.
     */
    public Route delay(Duration delay) {
      this.delay = Objects.requireNonNull(delay, "delay");
      return this;
    }

    /** Add {@code Retry-After: value} to every answer that is not 2xx. */
    public Route retryAfter(String value) {
      this.retryAfter = value;
      return this;
    }

    /** Decide each answer with {@code handler} (after any scripted failures). */
    public Route handle(Function<Call, Response> handler) {
      this.then = Objects.requireNonNull(handler, "handler");
      return this;
    }

    private void work() throws InterruptedException {
      Duration d = delay;
      if (!d.isZero()) {
        // Simulates the participant's work, not test synchronisation.
        TimeUnit.NANOSECONDS.sleep(d.toNanos());
      }
    }

    private Response next(Call call) {
      Response response;
      if (failuresLeft.getAndUpdate(n -> n > 0 ? n - 1 : 0) > 0) {
        int status = failureStatus;
        response = Response.json(status, jsonObject("error", "stubbed failure " + status));
      } else {
        Function<Call, Response> handler = then;
        response =
            handler != null
                ? handler.apply(call)
                : Response.json(200, jsonObject("ok", true, "path", call.path()));
      }
      String after = retryAfter;
      return after != null && !response.isSuccess()
          ? response.withHeader("Retry-After", after)
          : response;
    }
  }
}
