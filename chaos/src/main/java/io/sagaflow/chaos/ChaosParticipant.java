package io.sagaflow.chaos;

import com.sun.net.httpserver.HttpServer;
import io.sagaflow.chaos.format.Jsonl;
import io.sagaflow.chaos.participant.ParticipantHandler;
import io.sagaflow.chaos.participant.ParticipantOptions;
import io.sagaflow.chaos.participant.ParticipantStats;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Clock;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * The chaos run's participants alpha, beta and gamma, served from one JVM on one port, each call
 * with a fault from a seeded mix and written to the ledger: {@code java -cp sagaflow-chaos.jar
 * io.sagaflow.chaos.Main participant --port 0 --seed <long> --ledger <file> [--no-dedup]
 * [--skip-compensation-every <n>] [--mix <spec>]} (see {@link ParticipantOptions}). Prints {@value
 * #READY} and the port once listening; stops on SIGTERM. Tests start it in their own JVM with
 * {@link #start}.
 */
public final class ChaosParticipant implements AutoCloseable {

  /** The line prefix that says the participant is listening; the port follows. */
  public static final String READY = "chaos participant listening on port ";

  private final HttpServer server;
  private final ExecutorService executor;
  private final Jsonl.Writer ledger;
  private final ParticipantHandler handler;

  private ChaosParticipant(
      HttpServer server,
      ExecutorService executor,
      Jsonl.Writer ledger,
      ParticipantHandler handler) {
    this.server = server;
    this.executor = executor;
    this.ledger = ledger;
    this.handler = handler;
  }

  /** Listens on {@code options.port()} (0: any free port) of the loopback address. */
  public static ChaosParticipant start(ParticipantOptions options) {
    // Without it the JDK server leaves Nagle's algorithm on: small answers wait for delayed ACKs.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    var ledger = new Jsonl.Writer(options.ledger());
    // Cached: delayed and slow answers each hold a thread for seconds.
    ExecutorService executor = Executors.newCachedThreadPool();
    try {
      HttpServer server =
          HttpServer.create(
              new InetSocketAddress(InetAddress.getLoopbackAddress(), options.port()), 1024);
      var handler = new ParticipantHandler(options, ledger, Clock.systemUTC());
      server.createContext("/", handler);
      server.setExecutor(executor);
      server.start();
      return new ChaosParticipant(server, executor, ledger, handler);
    } catch (IOException e) {
      executor.shutdownNow();
      ledger.close();
      throw new UncheckedIOException("could not listen on port " + options.port(), e);
    }
  }

  public int port() {
    return server.getAddress().getPort();
  }

  public ParticipantStats stats() {
    return handler.stats();
  }

  @Override
  public void close() {
    server.stop(0);
    executor.shutdownNow();
    ledger.close();
  }

  public static void main(String[] args) throws InterruptedException {
    ChaosParticipant participant = start(ParticipantOptions.parse(args));
    var stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  participant.close();
                  stopped.countDown();
                },
                "chaos-participant-stop"));
    System.out.println(READY + participant.port());
    System.out.flush();
    stopped.await();
  }
}
