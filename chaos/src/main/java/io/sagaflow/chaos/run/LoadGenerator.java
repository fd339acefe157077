package io.sagaflow.chaos.run;

import io.sagaflow.chaos.ChaosSaga;
import io.sagaflow.chaos.format.ApiCall;
import io.sagaflow.chaos.format.Jsonl;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The run's clients: a few worker threads that start {@code chaos} sagas at a steady rate, spread
 * over the three nodes' APIs, each logged to {@code history.jsonl} when sent and when its outcome
 * is known. A start whose outcome is unknown (a 5xx, 408, 429, a timeout, a refused or lost
 * connection) is sent again with the same id and body, through the next node, as a careful client
 * does, until it is acknowledged (200/201) or refused (another 4xx); a few acknowledged sagas are
 * cancelled at once.
 */
final class LoadGenerator {
  /** Worker number of the runner's own calls (probes, the starts after the last fault, drain). */
  static final int RUNNER = -1;

  private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(10);
  private static final Duration MIN_BACKOFF = Duration.ofMillis(200);
  private static final Duration MAX_BACKOFF = Duration.ofSeconds(2);
  private static final Set<String> ENDED = Set.of("COMPLETED", "COMPENSATED", "FAILED");

  private final List<NodeProcess> nodes;
  private final HttpClient http;
  private final Jsonl.Writer history;
  private final long seed;
  private final int workers;
  private final double cancelShare;
  private final long intervalNanos;
  private final AtomicInteger sequence = new AtomicInteger();
  private final AtomicLong nextSlot = new AtomicLong();
  private final Set<String> acknowledged = ConcurrentHashMap.newKeySet();
  private final Set<String> refused = ConcurrentHashMap.newKeySet();
  private final Set<String> unresolved = ConcurrentHashMap.newKeySet();
  private final AtomicInteger cancels = new AtomicInteger();
  private final AtomicInteger resends = new AtomicInteger();
  private final List<Thread> threads = new ArrayList<>();
  private volatile boolean stopping;
  private volatile long giveUpAt = Long.MAX_VALUE;

  LoadGenerator(
      List<NodeProcess> nodes,
      HttpClient http,
      Jsonl.Writer history,
      long seed,
      double rate,
      int workers,
      double cancelShare) {
    this.nodes = nodes;
    this.http = http;
    this.history = history;
    this.seed = seed;
    this.workers = workers;
    this.cancelShare = cancelShare;
    this.intervalNanos = (long) (1e9 / rate);
  }

  /** What a call came to. */
  record Outcome(ApiCall.Phase phase, int http, String body) {}

  void start() {
    nextSlot.set(System.nanoTime());
    for (int w = 0; w < workers; w++) {
      int worker = w;
      Thread t = new Thread(() -> work(worker), "chaos-load-" + w);
      t.setDaemon(true);
      threads.add(t);
      t.start();
    }
  }

  /** Sagas started (first sent) so far. */
  int started() {
    return sequence.get();
  }

  Set<String> acknowledged() {
    return Set.copyOf(acknowledged);
  }

  int refused() {
    return refused.size();
  }

  /** Starts given up at the stop deadline without a definite outcome. */
  Set<String> unresolved() {
    return Set.copyOf(unresolved);
  }

  int cancels() {
    return cancels.get();
  }

  /** Starts sent again after an unknown outcome. */
  int resends() {
    return resends.get();
  }

  /**
   * No new saga from now on; starts in flight go on until their outcome is known or {@code
   * deadline} has passed. Returns once every worker has finished.
   */
  boolean stop(Duration deadline) {
    stopping = true;
    giveUpAt = System.nanoTime() + deadline.toNanos();
    long end = System.nanoTime() + deadline.plusSeconds(30).toNanos();
    for (Thread t : threads) {
      try {
        t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(end - System.nanoTime())));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return false;
      }
    }
    return threads.stream().noneMatch(Thread::isAlive);
  }

  private void work(int worker) {
    var random = new Random(seed * 31 + worker);
    while (!stopping) {
      long slot = nextSlot.getAndAdd(intervalNanos);
      long wait = slot - System.nanoTime();
      if (wait > 0 && !Await.pause(Duration.ofNanos(wait))) {
        return;
      }
      if (stopping) {
        return;
      }
      int n = sequence.incrementAndGet();
      String id = "chaos-" + n;
      String body =
          "{\"type\":\""
              + ChaosSaga.TYPE
              + "\",\"id\":\""
              + id
              + "\",\"input\":{\"order\":"
              + n
              + ",\"amount\":"
              + (1 + random.nextInt(1000))
              + "}}";
      Outcome outcome = startSaga(worker, id, body, random.nextInt(nodes.size()), false);
      if (outcome.phase() == ApiCall.Phase.OK && random.nextDouble() < cancelShare) {
        cancel(worker, id, nodes.get(random.nextInt(nodes.size())));
      }
    }
  }

  /**
   * Sends the start until its outcome is known (or the stop deadline passes), from node {@code
   * first} on, to the next node after each unknown outcome unless {@code pinned}.
   */
  Outcome startSaga(int worker, String id, String body, int first, boolean pinned) {
    Duration backoff = MIN_BACKOFF;
    int attempt = 0;
    while (true) {
      NodeProcess node = nodes.get(Math.floorMod(first + (pinned ? 0 : attempt), nodes.size()));
      if (attempt > 0) {
        resends.incrementAndGet();
      }
      Outcome outcome =
          call(
              worker,
              ApiCall.Op.START,
              id,
              node,
              HttpRequest.newBuilder(node.api("/v1/sagas"))
                  .header("Content-Type", "application/json")
                  .POST(HttpRequest.BodyPublishers.ofString(body)));
      switch (outcome.phase()) {
        case OK -> {
          acknowledged.add(id);
          return outcome;
        }
        case FAIL -> {
          refused.add(id);
          return outcome;
        }
        default -> {
          // unknown: the saga may or may not exist; send it again
        }
      }
      if (System.nanoTime() - giveUpAt >= 0) {
        unresolved.add(id);
        return outcome;
      }
      Await.pause(backoff);
      backoff =
          backoff.multipliedBy(2).compareTo(MAX_BACKOFF) > 0
              ? MAX_BACKOFF
              : backoff.multipliedBy(2);
      attempt++;
    }
  }

  private void cancel(int worker, String id, NodeProcess node) {
    cancels.incrementAndGet();
    call(
        worker,
        ApiCall.Op.CANCEL,
        id,
        node,
        HttpRequest.newBuilder(node.api("/v1/sagas/" + id + "/cancel"))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("{\"reason\":\"chaos run cancel\"}")));
  }

  /** {@code GET /v1/sagas/{id}}: the saga's status when it answered 200, else null. */
  String get(int worker, String id, NodeProcess node) {
    Outcome outcome =
        call(worker, ApiCall.Op.GET, id, node, HttpRequest.newBuilder(node.api("/v1/sagas/" + id)));
    return outcome.phase() == ApiCall.Phase.OK ? status(outcome.body()) : null;
  }

  /**
   * Polls every acknowledged saga until it has ended ({@code COMPLETED}, {@code COMPENSATED} or
   * {@code FAILED}), or its GET answered 404, or the deadline passed; every GET goes to the
   * history. Returns the sagas that had not ended by then.
   */
  Set<String> drain(Set<String> sagas, Duration deadline, int threads) {
    Set<String> pending = ConcurrentHashMap.newKeySet();
    pending.addAll(sagas);
    long end = System.nanoTime() + deadline.toNanos();
    ExecutorService pool = Executors.newFixedThreadPool(threads);
    try {
      AtomicInteger next = new AtomicInteger();
      while (!pending.isEmpty() && System.nanoTime() - end < 0) {
        var futures = new ArrayList<Future<?>>();
        for (String id : List.copyOf(pending)) {
          futures.add(
              pool.submit(
                  () -> {
                    NodeProcess node =
                        nodes.get(Math.floorMod(next.getAndIncrement(), nodes.size()));
                    Outcome outcome =
                        call(
                            RUNNER,
                            ApiCall.Op.GET,
                            id,
                            node,
                            HttpRequest.newBuilder(node.api("/v1/sagas/" + id)));
                    if (outcome.http() == 404
                        || (outcome.phase() == ApiCall.Phase.OK
                            && ENDED.contains(status(outcome.body())))) {
                      pending.remove(id);
                    }
                  }));
        }
        for (Future<?> f : futures) {
          try {
            f.get();
          } catch (Exception e) {
            throw new IllegalStateException("a drain GET failed: " + e, e);
          }
        }
        if (!pending.isEmpty()) {
          Await.pause(Duration.ofSeconds(1));
        }
      }
    } finally {
      pool.shutdownNow();
    }
    return Set.copyOf(pending);
  }

  /** One API call, logged when sent and when its outcome is known. */
  Outcome call(
      int worker, ApiCall.Op op, String sagaId, NodeProcess node, HttpRequest.Builder request) {
    history.write(ApiCall.invoked(worker, op, sagaId, node.name));
    Outcome outcome;
    try {
      HttpResponse<String> response =
          http.send(request.timeout(REQUEST_TIMEOUT).build(), HttpResponse.BodyHandlers.ofString());
      int status = response.statusCode();
      ApiCall.Phase phase;
      if (status / 100 == 2) {
        phase = ApiCall.Phase.OK;
      } else if (status == 408 || status == 429 || status >= 500) {
        phase = ApiCall.Phase.UNKNOWN;
      } else {
        phase = ApiCall.Phase.FAIL;
      }
      outcome = new Outcome(phase, status, response.body());
    } catch (IOException e) {
      outcome =
          new Outcome(
              ApiCall.Phase.UNKNOWN, 0, e.getClass().getSimpleName() + ": " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      outcome = new Outcome(ApiCall.Phase.UNKNOWN, 0, "interrupted");
    }
    String sagaStatus =
        op == ApiCall.Op.GET && outcome.http() == 200 ? status(outcome.body()) : null;
    history.write(
        ApiCall.ended(
            worker,
            op,
            sagaId,
            node.name,
            outcome.phase(),
            outcome.http(),
            sagaStatus,
            outcome.phase() == ApiCall.Phase.OK ? null : detail(outcome.body())));
    return outcome;
  }

  /** A READY probe of a node's management port, logged like an API call. */
  int probeReady(NodeProcess node) {
    history.write(ApiCall.invoked(RUNNER, ApiCall.Op.READY, null, node.name));
    int status = node.readyStatus();
    ApiCall.Phase phase =
        status == 200
            ? ApiCall.Phase.OK
            : status == 0 || status >= 500 ? ApiCall.Phase.UNKNOWN : ApiCall.Phase.FAIL;
    history.write(
        ApiCall.ended(RUNNER, ApiCall.Op.READY, null, node.name, phase, status, null, null));
    return status;
  }

  private static String status(String body) {
    try {
      return Jsonl.MAPPER.readTree(body).path("status").asText(null);
    } catch (IOException e) {
      return null;
    }
  }

  private static String detail(String body) {
    if (body == null) {
      return null;
    }
    try {
      var json = Jsonl.MAPPER.readTree(body);
      if (json.has("title")) {
        return json.path("title").asText();
      }
    } catch (IOException e) {
      // not a problem document
    }
    return body.length() > 200 ? body.substring(0, 200) : body;
  }
}
