package io.sagaflow.sagas.demo;

import com.sun.net.httpserver.HttpServer;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The participants of the example sagas, as one HTTP server in this process: {@code /inventory},
 * {@code /payments}, {@code /shipping}, {@code /flights}, {@code /hotels} and {@code
 * /notifications}. Each keeps an in-memory ledger, dedupes by {@code Idempotency-Key}, has a fault
 * switch, and fails on inputs a user can choose (see the README for the contract).
 *
 * <p>Runs on the JDK's HTTP server, independent of the actor system, so that it behaves like a
 * separate service that merely happens to share the JVM.
 */
public final class DemoParticipants implements AutoCloseable {

  /** The services hosted, each under {@code /{name}}. */
  public static final List<String> SERVICES =
      List.of(
          InventoryService.NAME,
          PaymentsService.NAME,
          ShippingService.NAME,
          FlightsService.NAME,
          HotelsService.NAME,
          NotificationsService.NAME);

  public static final int DEFAULT_PORT = 8081;
  public static final String LOOPBACK = "127.0.0.1";

  private static final Logger log = LoggerFactory.getLogger(DemoParticipants.class);

  static {
    // The JDK server writes headers and body separately; with Nagle's algorithm on, the client's
    // delayed ACK then adds ~40 ms to many calls. Read once, when the first server is created.
    if (System.getProperty("sun.net.httpserver.nodelay") == null) {
      System.setProperty("sun.net.httpserver.nodelay", "true");
    }
  }

  private final HttpServer server;
  private final ExecutorService executor;
  private final String origin;
  private final AtomicBoolean closed = new AtomicBoolean();

  private DemoParticipants(HttpServer server, ExecutorService executor, String origin) {
    this.server = server;
    this.executor = executor;
    this.origin = origin;
  }

  /** Starts the participants on 127.0.0.1; port 0 picks a free one. */
  public static DemoParticipants start(int port) {
    return start(LOOPBACK, port);
  }

  /**
   * Starts the participants on {@code host} (e.g. {@code 0.0.0.0} to reach the fault switches from
   * outside a container); port 0 picks a free one.
   *
   * @throws UncheckedIOException when the address cannot be bound, e.g. the port is taken
   */
  public static DemoParticipants start(String host, int port) {
    HttpServer server;
    try {
      server = HttpServer.create(new InetSocketAddress(host, port), 0);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "demo participants cannot listen on " + host + ":" + port + ": " + e.getMessage(), e);
    }
    List<DemoService> services =
        List.of(
            new InventoryService(),
            new PaymentsService(),
            new ShippingService(),
            new FlightsService(),
            new HotelsService(),
            new NotificationsService());
    for (DemoService service : services) {
      server.createContext("/" + service.name(), new ServiceEndpoint(service));
    }
    server.createContext(
        "/",
        exchange -> {
          try {
            ServiceEndpoint.send(
                exchange,
                Reply.problem(
                    404,
                    "not-found",
                    "Not found",
                    "no such participant; the services are under /"
                        + String.join(", /", SERVICES)));
          } finally {
            exchange.close();
          }
        });
    // A thread per call in flight: delayed (faulted) calls must not hold up the others.
    var threads = new AtomicInteger();
    ExecutorService executor =
        Executors.newCachedThreadPool(
            runnable -> {
              Thread thread =
                  new Thread(runnable, "demo-participants-" + threads.incrementAndGet());
              thread.setDaemon(true);
              return thread;
            });
    server.setExecutor(executor);
    server.start();
    InetSocketAddress bound = server.getAddress();
    InetAddress address = bound.getAddress();
    String urlHost = address.isAnyLocalAddress() ? LOOPBACK : address.getHostAddress();
    if (urlHost.contains(":")) {
      urlHost = "[" + urlHost + "]";
    }
    var participants =
        new DemoParticipants(server, executor, "http://" + urlHost + ":" + bound.getPort());
    log.info(
        "Demo participants listening on {} ({})",
        participants.origin,
        "/" + String.join(", /", SERVICES));
    return participants;
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** The base URL of a service, e.g. {@code http://127.0.0.1:8081/payments}. */
  public String baseUrl(String service) {
    if (!SERVICES.contains(service)) {
      throw new IllegalArgumentException(
          "no demo participant '" + service + "'; there are " + SERVICES);
    }
    return origin + "/" + service;
  }

  /** {@code sagaflow.participants.<name>.url} for every service, to layer over the app config. */
  public Config participantConfig() {
    Map<String, Object> urls = new LinkedHashMap<>();
    for (String service : SERVICES) {
      urls.put("sagaflow.participants." + service + ".url", baseUrl(service));
    }
    return ConfigFactory.parseMap(urls, "demo participants");
  }

  /** Stops listening and abandons calls in flight (a delayed call is interrupted). */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    server.stop(0);
    executor.shutdownNow();
    log.info("Demo participants on {} stopped", origin);
  }
}
