package io.sagaflow.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagaflow.node.SagaflowNode;
import io.sagaflow.orchestrator.SagaReplies;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.HdrHistogram.Histogram;

/**
 * {@code sagaflow-bench.jar bench-waiting}: how many sagas waiting on a long backoff one node
 * holds, and whether they wake on time. Starts {@code --sagas} sagas of one local step that fails
 * its first attempt (a retryable failure) and succeeds its second, {@code --backoff} seconds later;
 * measures the heap once every saga waits (after a full GC), the sagas still in memory and their
 * durable timers, then how late each second attempt came (against first attempt + backoff), and
 * checks every saga's journal and that no timer is left. A backoff of at least {@code
 * sagaflow.timers.durable-from} (10 s) parks the sagas out of memory, woken by their durable
 * timers. Run it with the heap to test, e.g. {@code java -Xmx1g -jar sagaflow-bench.jar
 * bench-waiting --sagas 1000000 --backoff 900}.
 */
public final class WaitingBench {

  static final String TYPE = "bench-wait";
  static final String STEP = "wait";

  static final String USAGE =
      """
      Usage: java -Xmx1g -jar sagaflow-bench.jar bench-waiting [options]

      Starts a node in this JVM (embedded PostgreSQL in a fresh temporary directory, or
      SAGAFLOW_DB_URL), starts N sagas whose one local step fails its first attempt (retryable)
      and succeeds the next, after the backoff; reports the heap while all of them wait and how
      late each woke, and checks every saga in the journal. Exits 0 when every saga completed as
      expected, 1 otherwise, 2 on bad options.

        --sagas N        sagas to park (default 100000)
        --backoff S      seconds each saga waits before its second attempt (default 180); must
                         exceed the time it takes to start all of them
        --concurrency C  starts in flight (default 256)
        --json           after the table, one JSON object with every figure
        --help           print this text
      """;

  record Options(int sagas, int backoffSeconds, int concurrency, boolean json, boolean help) {
    static Options parse(String[] args) {
      int sagas = 100_000;
      int backoff = 180;
      int concurrency = 256;
      boolean json = false;
      boolean help = false;
      for (int i = 0; i < args.length; i++) {
        String arg = args[i];
        switch (arg) {
          case "--sagas" -> sagas = positive(arg, value(args, ++i, arg));
          case "--backoff" -> backoff = positive(arg, value(args, ++i, arg));
          case "--concurrency" -> concurrency = positive(arg, value(args, ++i, arg));
          case "--json" -> json = true;
          case "--help", "-h" -> help = true;
          default -> throw new IllegalArgumentException("unknown option " + arg);
        }
      }
      return new Options(sagas, backoff, concurrency, json, help);
    }

    private static String value(String[] args, int i, String option) {
      if (i >= args.length) {
        throw new IllegalArgumentException(option + " needs a value");
      }
      return args[i];
    }

    private static int positive(String option, String value) {
      try {
        int n = Integer.parseInt(value);
        if (n > 0) {
          return n;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new IllegalArgumentException(option + " must be a positive integer, was " + value);
    }
  }

  /**
   * What a run measured.
   *
   * @param heapWhileWaitingMb heap in use after a full GC with every saga waiting
   * @param liveEntities saga entities alive on the node at that moment
   * @param latenessMs second attempt minus (first attempt + backoff): p50, p99, max
   * @param earliestMs the smallest such difference: negative when a retry came early (by at most
   *     one scheduler tick, or the run fails)
   */
  record Result(
      int sagas,
      int backoffSeconds,
      long maxHeapMb,
      double startSeconds,
      double heapWhileWaitingMb,
      long liveEntities,
      double peakHeapMb,
      long timersWhileWaiting,
      long completed,
      long[] latenessMs,
      double earliestMs,
      List<String> problems)
      implements BenchReport {

    @Override
    public String toTable() {
      return String.format(
          Locale.ROOT,
          """
          Sagaflow bench-waiting: %d sagas, each waiting %d s on a retry backoff, heap limit %d MiB

            started                    %d sagas in %.1f s (%.0f/s)
            heap while all wait        %.0f MiB after a full GC (%.1f KiB per saga), %d sagas alive
            durable timers             %d while all wait
            peak heap                  %.0f MiB
            completed                  %d of %d
            woken late by (ms)         p50 %d  p99 %d  max %d  (second attempt - first attempt - backoff)
            earliest wake (ms)         %.1f  (early by at most one scheduler tick is allowed)
            verified                   %s
          """,
          sagas,
          backoffSeconds,
          maxHeapMb,
          sagas,
          startSeconds,
          sagas / startSeconds,
          heapWhileWaitingMb,
          heapWhileWaitingMb * 1024 / sagas,
          liveEntities,
          timersWhileWaiting,
          peakHeapMb,
          completed,
          sagas,
          latenessMs[0],
          latenessMs[1],
          latenessMs[2],
          earliestMs,
          problems.isEmpty() ? "yes: every saga completed with the expected journal" : problems);
    }

    @Override
    public String toJson() {
      return String.format(
          Locale.ROOT,
          "{\"mode\":\"waiting\",\"sagas\":%d,\"backoffSeconds\":%d,\"maxHeapMb\":%d,"
              + "\"startSeconds\":%.2f,\"heapWhileWaitingMb\":%.1f,\"liveEntities\":%d,"
              + "\"timersWhileWaiting\":%d,\"peakHeapMb\":%.1f,\"completed\":%d,"
              + "\"latenessMs\":{\"p50\":%d,\"p99\":%d,\"max\":%d},\"earliestMs\":%.2f,"
              + "\"verified\":%s}",
          sagas,
          backoffSeconds,
          maxHeapMb,
          startSeconds,
          heapWhileWaitingMb,
          liveEntities,
          timersWhileWaiting,
          peakHeapMb,
          completed,
          latenessMs[0],
          latenessMs[1],
          latenessMs[2],
          earliestMs,
          problems.isEmpty());
    }
  }

  private WaitingBench() {}

  public static int run(String[] args) {
    return run(args, System.out, System.err);
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      err.println("bench-waiting: " + e.getMessage());
      err.println();
      err.print(USAGE);
      return 2;
    }
    if (options.help()) {
      out.print(USAGE);
      return 0;
    }
    Bench.quietLogs();
    return BenchReport.print(
        "bench-waiting",
        () -> run(options, System.getenv(), Bench.progressTo(err, "bench-waiting")),
        options.json(),
        out,
        err);
  }

  static Result run(Options options, Map<String, String> env, Consumer<String> progress) {
    int n = options.sagas();
    Duration backoff = Duration.ofSeconds(options.backoffSeconds());
    String prefix = "wait-" + UUID.randomUUID().toString().substring(0, 8) + "-";
    AtomicLongArray firstCall = new AtomicLongArray(n);
    AtomicLongArray secondCall = new AtomicLongArray(n);
    AtomicLong extraCalls = new AtomicLong();
    SagaDefinition<?> definition =
        SagaDefinition.builder(TYPE)
            .version(1)
            .step(
                Step.named(STEP)
                    .invoke(
                        LocalCall.of(
                            ctx -> {
                              int i = Integer.parseInt(ctx.sagaId().substring(prefix.length()));
                              long now = System.nanoTime();
                              if (ctx.attempt() == 1 && firstCall.compareAndSet(i, 0, now)) {
                                return CompletableFuture.failedFuture(
                                    new IllegalStateException("bench: not yet, come back later"));
                              }
                              if (ctx.attempt() != 2 || !secondCall.compareAndSet(i, 0, now)) {
                                extraCalls.incrementAndGet();
                              }
                              return CompletableFuture.completedFuture(Map.of());
                            }))
                    .noCompensation()
                    .retry(r -> r.maxAttempts(2).minBackoff(backoff).maxBackoff(backoff).jitter(0)))
            .build();

    try (BenchNode benchNode =
        BenchNode.start(env, false, Map.of(), List.of(definition), progress)) {
      SagaflowNode node = benchNode.node();
      long maxHeapMb = Runtime.getRuntime().maxMemory() / (1024 * 1024);

      progress.accept("starting " + n + " sagas, " + options.concurrency() + " starts in flight");
      Resources.resetHeapPeak();
      var input = new ObjectMapper().createObjectNode();
      Semaphore inFlight = new Semaphore(options.concurrency());
      AtomicLong startErrors = new AtomicLong();
      var firstStartError = new java.util.concurrent.atomic.AtomicReference<String>();
      long t0 = System.nanoTime();
      for (int i = 0; i < n; i++) {
        inFlight.acquireUninterruptibly();
        node.engine()
            .start(prefix + i, TYPE, null, input)
            .whenComplete(
                (reply, failure) -> {
                  if (failure != null || !(reply instanceof SagaReplies.Accepted)) {
                    startErrors.incrementAndGet();
                    firstStartError.compareAndSet(
                        null, failure != null ? failure.toString() : String.valueOf(reply));
                  }
                  inFlight.release();
                });
        if ((i + 1) % 20_000 == 0) {
          progress.accept((i + 1) + " started");
        }
      }
      inFlight.acquireUninterruptibly(options.concurrency());
      double startSeconds = (System.nanoTime() - t0) / 1e9;
      long firstDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (count(firstCall) < n && System.nanoTime() < firstDeadline) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(200));
      }
      Duration durableFrom =
          node.system().settings().config().getDuration("sagaflow.timers.durable-from");
      if (backoff.compareTo(durableFrom) >= 0) {
        // Each saga passivates once its timer is written: measured when they all have.
        long parkDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (BenchRunner.liveEntities(node.engine(), prefix) > 0
            && System.nanoTime() < parkDeadline) {
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
        }
      }
      long waiting = count(firstCall) - count(secondCall);
      progress.accept(
          "all started in "
              + Math.round(startSeconds)
              + " s; "
              + waiting
              + " waiting; full GC, then measuring the heap");
      System.gc();
      System.gc();
      double heapMb =
          ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / (1024.0 * 1024.0);
      long live = BenchRunner.liveEntities(node.engine(), prefix);
      long timers;
      try (BenchDatabase db = BenchDatabase.connect(node.database())) {
        timers = db.timers(prefix);
      }
      progress.accept(
          Math.round(heapMb) + " MiB in use, " + live + " sagas in memory, " + timers + " timers");

      long doneDeadline =
          System.nanoTime() + backoff.plusSeconds(Math.round(startSeconds) + 300).toNanos();
      while (count(secondCall) < n && System.nanoTime() < doneDeadline) {
        LockSupport.parkNanos(TimeUnit.SECONDS.toNanos(1));
      }
      var wakes =
          io.sagaflow.orchestrator.telemetry.NodeMetrics.get(node.system().classicSystem())
              .registry()
              .find("sagaflow.timer.wake.lateness")
              .timer();
      if (wakes != null) {
        progress.accept(
            String.format(
                Locale.ROOT,
                "timer poller: %d wakes sent, late by %.1f ms on average at the poller",
                wakes.count(),
                wakes.mean(TimeUnit.MILLISECONDS)));
      }
      var problems = new ArrayList<String>();
      Histogram lateness = new Histogram(3);
      // Pekko's scheduler runs a timer on the tick after it falls due, and a timer set during a
      // tick counts from that tick's start: it may fire up to one tick early.
      long tickNanos =
          node.system().settings().config().getDuration("pekko.scheduler.tick-duration").toNanos();
      long early = 0;
      long earliestNanos = Long.MAX_VALUE;
      for (int i = 0; i < n; i++) {
        if (secondCall.get(i) == 0) {
          continue;
        }
        long late = secondCall.get(i) - firstCall.get(i) - backoff.toNanos();
        earliestNanos = Math.min(earliestNanos, late);
        if (late < -tickNanos) {
          early++;
        }
        lateness.recordValue(TimeUnit.NANOSECONDS.toMillis(Math.max(0, late)));
      }
      long completed = count(secondCall);
      if (startErrors.get() > 0) {
        problems.add(startErrors.get() + " starts failed, the first with " + firstStartError.get());
      }
      if (completed < n) {
        problems.add((n - completed) + " sagas never made their second attempt");
      }
      if (early > 0) {
        problems.add(
            early + " sagas were retried more than a scheduler tick before their backoff was over");
      }
      if (extraCalls.get() > 0) {
        problems.add(extraCalls.get() + " calls beyond the two each saga needs");
      }
      try (BenchDatabase db = BenchDatabase.connect(node.database())) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        List<BenchDatabase.Signature> signatures = db.journalSignatures(prefix);
        String expected = "SagaStarted,StepAttemptFailed(" + STEP + "),SagaCompleted(" + STEP + ")";
        while (!(signatures.size() == 1
                && signatures.get(0).events().equals(expected)
                && signatures.get(0).sagas() == n)
            && System.nanoTime() < deadline) {
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
          signatures = db.journalSignatures(prefix);
        }
        long timersLeft = db.timers(prefix);
        while (timersLeft > 0 && System.nanoTime() < deadline) {
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
          timersLeft = db.timers(prefix);
        }
        if (timersLeft > 0) {
          problems.add(timersLeft + " durable timers left after every saga completed");
        }
        for (BenchDatabase.Signature s : signatures) {
          if (!s.events().equals(expected) || s.sagas() != n) {
            problems.add(
                s.sagas()
                    + " sagas have the journal "
                    + s.events()
                    + " (e.g. "
                    + s.example()
                    + ")");
          }
        }
      }
      return new Result(
          n,
          options.backoffSeconds(),
          maxHeapMb,
          startSeconds,
          heapMb,
          live,
          Resources.peakHeapMb(),
          timers,
          completed,
          new long[] {
            lateness.getValueAtPercentile(50),
            lateness.getValueAtPercentile(99),
            lateness.getMaxValue()
          },
          earliestNanos == Long.MAX_VALUE ? 0 : earliestNanos / 1e6,
          problems);
    }
  }

  private static long count(AtomicLongArray times) {
    long n = 0;
    for (int i = 0; i < times.length(); i++) {
      if (times.get(i) != 0) {
        n++;
      }
    }
    return n;
  }
}
