package io.sagaflow.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagaflow.node.SagaflowNode;
import io.sagaflow.orchestrator.SagaReplies;
import io.sagaflow.orchestrator.dsl.AwaitSignal;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepKey;
import io.sagaflow.orchestrator.telemetry.NodeMetrics;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.LongSummaryStatistics;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.HdrHistogram.Histogram;

/**
 * {@code sagaflow-bench.jar bench-waiting}: how many waiting sagas one node holds, and whether they
 * wake on time. Starts {@code --sagas} sagas, optionally paced at {@code --start-rate}; most of
 * them have one local step that fails its first attempt (a retryable failure) and succeeds its
 * second, {@code --backoff} seconds later. A {@code --signalled} share of them waits for a signal
 * instead (at most twice the backoff), which the bench sends each one a backoff after it started
 * it, as if it fell due like a retry, so that both kinds wake in the same window; a local step then
 * runs. Measures the heap once every saga waits (after a full GC), the sagas still in memory and
 * their durable timers, then how late each second attempt came (against first attempt + backoff)
 * and how soon after its signal each signalled saga's next step ran, and checks every saga's
 * journal and that no timer is left. A wait of at least {@code sagaflow.timers.durable-from} (10 s)
 * parks the saga out of memory, woken by its durable timer or its signal. Run it with the heap to
 * test, e.g. {@code java -Xmx1g -jar sagaflow-bench.jar bench-waiting --sagas 1000000 --backoff 900
 * --signalled 50}.
 */
public final class WaitingBench {

  static final String TYPE = "bench-wait";
  static final String STEP = "wait";

  static final String SIGNAL_TYPE = "bench-signal";
  static final String SIGNAL = "go";
  static final StepKey<Go> GO = StepKey.of("go", Go.class);
  static final String AFTER = "after";

  static final String USAGE =
      """
      Usage: java -Xmx1g -jar sagaflow-bench.jar bench-waiting [options]

      Starts a node in this JVM (embedded PostgreSQL in a fresh temporary directory, or
      SAGAFLOW_DB_URL) and N sagas that wait. Most of them have one local step that fails its
      first attempt (retryable) and succeeds the next, after the backoff; the --signalled share
      waits for a signal instead, which the bench sends each of them a backoff after it started
      it (as if it fell due like a retry), and then runs a local
      step. Reports the heap while all of them wait, how late each retry came and how soon after
      its signal each signalled saga went on, and checks every saga in the journal. Exits 0 when
      every saga completed as expected, 1 otherwise, 2 on bad options.

        --sagas N        sagas to park (default 100000)
        --backoff S      seconds each saga waits before its second attempt (default 180); must
                         exceed the time it takes to start all of them
        --signalled P    percent of the sagas, spread evenly in start order, that wait for a
                         signal (timeout 2 x S) instead of a retry (0 to 100, default 0)
        --start-rate R   sagas started per second, so that their waits fall due at that rate
                         (default 0: as fast as --concurrency allows); N / R must be under S
        --concurrency C  starts, and signals, in flight (default 256)
        --json           after the table, one JSON object with every figure
        --help           print this text
      """;

  /** What the bench sends with each signal: the saga's index, which the step after checks. */
  record Go(int index) {}

  record Options(
      int sagas,
      int backoffSeconds,
      int signalledPercent,
      int startRate,
      int concurrency,
      boolean json,
      boolean help) {
    static Options parse(String[] args) {
      int sagas = 100_000;
      int backoff = 180;
      int signalled = 0;
      int startRate = 0;
      int concurrency = 256;
      boolean json = false;
      boolean help = false;
      for (int i = 0; i < args.length; i++) {
        String arg = args[i];
        switch (arg) {
          case "--sagas" -> sagas = number(arg, value(args, ++i, arg), 1, Integer.MAX_VALUE);
          case "--backoff" -> backoff = number(arg, value(args, ++i, arg), 1, Integer.MAX_VALUE);
          case "--signalled" -> signalled = number(arg, value(args, ++i, arg), 0, 100);
          case "--start-rate" ->
              startRate = number(arg, value(args, ++i, arg), 0, Integer.MAX_VALUE);
          case "--concurrency" ->
              concurrency = number(arg, value(args, ++i, arg), 1, Integer.MAX_VALUE);
          case "--json" -> json = true;
          case "--help", "-h" -> help = true;
          default -> throw new IllegalArgumentException("unknown option " + arg);
        }
      }
      if (startRate > 0 && (double) sagas / startRate >= backoff) {
        throw new IllegalArgumentException(
            String.format(
                Locale.ROOT,
                "--sagas %d at --start-rate %d take %.1f s to start, not under --backoff %d: the"
                    + " first waits would end before the last began; raise --backoff or"
                    + " --start-rate",
                sagas,
                startRate,
                (double) sagas / startRate,
                backoff));
      }
      return new Options(sagas, backoff, signalled, startRate, concurrency, json, help);
    }

    /**
     * Whether saga {@code i} (in start order) waits for a signal: those at which the count of
     * signalled sagas before them steps up, so P % of them, spread evenly.
     */
    boolean signalled(int i) {
      return signalledBefore(i + 1) > signalledBefore(i);
    }

    /** How many of the sagas before saga {@code i} (in start order) wait for a signal. */
    int signalledBefore(int i) {
      return (int) ((long) i * signalledPercent / 100);
    }

    int signalledSagas() {
      return signalledBefore(sagas);
    }

    private static String value(String[] args, int i, String option) {
      if (i >= args.length) {
        throw new IllegalArgumentException(option + " needs a value");
      }
      return args[i];
    }

    private static int number(String option, String value, int min, int max) {
      try {
        int n = Integer.parseInt(value);
        if (n >= min && n <= max) {
          return n;
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      String wanted =
          max < Integer.MAX_VALUE
              ? "an integer from " + min + " to " + max
              : min > 0 ? "a positive integer" : "an integer, 0 or more";
      throw new IllegalArgumentException(option + " must be " + wanted + ", was " + value);
    }
  }

  /**
   * What a run measured.
   *
   * @param signalled of {@code sagas}, those that waited for a signal instead of a retry
   * @param pacedStartRate the starts per second asked for; 0 when unpaced
   * @param dueRate waits ending per second, first to last: retries falling due and signals sent
   * @param heapWhileWaitingMb heap in use after a full GC with every saga waiting
   * @param liveEntities saga entities alive on the node at that moment
   * @param latenessMs second attempt minus (first attempt + backoff): p50, p99, max
   * @param earliestMs the smallest such difference: negative when a retry came early (by at most
   *     one scheduler tick, or the run fails)
   * @param signalLatencyMs the step after the signal ran minus the signal sent: p50, p99, max
   */
  record Result(
      int sagas,
      int signalled,
      int backoffSeconds,
      long maxHeapMb,
      int pacedStartRate,
      double startSeconds,
      double dueRate,
      double heapWhileWaitingMb,
      long liveEntities,
      double peakHeapMb,
      long timersWhileWaiting,
      long wokenByTimer,
      long wokenBySignal,
      long[] latenessMs,
      double earliestMs,
      long[] signalLatencyMs,
      List<String> problems)
      implements BenchReport {

    long completed() {
      return wokenByTimer + wokenBySignal;
    }

    double startRate() {
      return sagas / startSeconds;
    }

    @Override
    public String toTable() {
      return String.format(
          Locale.ROOT,
          """
          Sagaflow bench-waiting: %d sagas, heap limit %d MiB: %d waiting %d s on a retry \
          backoff, %d for a signal

            started                    %d sagas in %.1f s (%.0f/s, %s)
            heap while all wait        %.0f MiB after a full GC (%.1f KiB per saga), %d sagas alive
            durable timers             %d while all wait
            peak heap                  %.0f MiB
            due                        %.0f/s (retries falling due and signals sent, first to last)
            completed                  %d of %d: %d woken by their timer, %d by their signal
            woken late by (ms)         p50 %d  p99 %d  max %d  (second attempt - first attempt - backoff)
            earliest wake (ms)         %.1f  (early by at most one scheduler tick is allowed)
            woken by signal after (ms) p50 %d  p99 %d  max %d  (step '%s' ran - signal sent)
            verified                   %s
          """,
          sagas,
          maxHeapMb,
          sagas - signalled,
          backoffSeconds,
          signalled,
          sagas,
          startSeconds,
          startRate(),
          pacedStartRate > 0 ? "paced at " + pacedStartRate + "/s" : "unpaced",
          heapWhileWaitingMb,
          heapWhileWaitingMb * 1024 / sagas,
          liveEntities,
          timersWhileWaiting,
          peakHeapMb,
          dueRate,
          completed(),
          sagas,
          wokenByTimer,
          wokenBySignal,
          latenessMs[0],
          latenessMs[1],
          latenessMs[2],
          earliestMs,
          signalLatencyMs[0],
          signalLatencyMs[1],
          signalLatencyMs[2],
          AFTER,
          problems.isEmpty() ? "yes: every saga completed with the expected journal" : problems);
    }

    @Override
    public String toJson() {
      return String.format(
          Locale.ROOT,
          "{\"mode\":\"waiting\",\"sagas\":%d,\"signalled\":%d,\"backoffSeconds\":%d,"
              + "\"maxHeapMb\":%d,\"pacedStartRate\":%d,\"startSeconds\":%.2f,\"startRate\":%.1f,"
              + "\"dueRate\":%.1f,\"heapWhileWaitingMb\":%.1f,\"liveEntities\":%d,"
              + "\"timersWhileWaiting\":%d,\"peakHeapMb\":%.1f,\"completed\":%d,"
              + "\"wokenByTimer\":%d,\"wokenBySignal\":%d,%s,\"earliestMs\":%.2f,%s,"
              + "\"verified\":%s}",
          sagas,
          signalled,
          backoffSeconds,
          maxHeapMb,
          pacedStartRate,
          startSeconds,
          startRate(),
          dueRate,
          heapWhileWaitingMb,
          liveEntities,
          timersWhileWaiting,
          peakHeapMb,
          completed(),
          wokenByTimer,
          wokenBySignal,
          percentilesJson("latenessMs", latenessMs),
          earliestMs,
          percentilesJson("signalLatencyMs", signalLatencyMs),
          problems.isEmpty());
    }

    private static String percentilesJson(String name, long[] ms) {
      return String.format(
          Locale.ROOT, "\"%s\":{\"p50\":%d,\"p99\":%d,\"max\":%d}", name, ms[0], ms[1], ms[2]);
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
    return new Run(options, progress).run(env);
  }

  /**
   * The sagas of one kind, by their index among that kind: when each one's wait began and ended as
   * the bench saw it ({@link System#nanoTime()}, 0 for not yet), and the calls none should get.
   */
  private static final class Kind {
    final String type;
    final String prefix;
    final AtomicLongArray began;
    final AtomicLongArray ended;

    /** When the bench started each one. */
    final AtomicLongArray started;

    final AtomicLong extraCalls = new AtomicLong();

    Kind(String type, String prefix, int sagas) {
      this.type = type;
      this.prefix = prefix;
      this.began = new AtomicLongArray(sagas);
      this.ended = new AtomicLongArray(sagas);
      this.started = new AtomicLongArray(sagas);
    }

    int sagas() {
      return began.length();
    }

    String sagaId(int index) {
      return prefix + index;
    }

    int index(String sagaId) {
      return Integer.parseInt(sagaId.substring(prefix.length()));
    }
  }

  /** One run: its two kinds of sagas, the node they run on, and what was seen of them. */
  private static final class Run {
    private final Options options;
    private final Consumer<String> progress;
    private final Duration backoff;
    private final Duration signalTimeout;
    private final String prefix = "wait-" + UUID.randomUUID().toString().substring(0, 8) + "-";

    /** Fail their first attempt: began at it, ended at the second. */
    private final Kind retried;

    /** Wait for their signal: began when the bench sent it, ended when the step after ran. */
    private final Kind signalled;

    private final AtomicLong wrongPayloads = new AtomicLong();
    private final ObjectMapper mapper = new ObjectMapper();
    private SagaflowNode node;
    private long t0;

    Run(Options options, Consumer<String> progress) {
      this.options = options;
      this.progress = progress;
      this.backoff = Duration.ofSeconds(options.backoffSeconds());
      this.signalTimeout = backoff.multipliedBy(2);
      int signalledSagas = options.signalledSagas();
      this.retried = new Kind(TYPE, prefix + "r", options.sagas() - signalledSagas);
      this.signalled = new Kind(SIGNAL_TYPE, prefix + "s", signalledSagas);
    }

    Result run(Map<String, String> env) {
      List<SagaDefinition<?>> definitions = List.of(retriedSaga(), signalledSaga());
      try (BenchNode benchNode = BenchNode.start(env, false, Map.of(), definitions, progress)) {
        node = benchNode.node();
        long maxHeapMb = Runtime.getRuntime().maxMemory() / (1024 * 1024);
        Resources.resetHeapPeak();
        t0 = System.nanoTime();
        Calls<SagaReplies.StartReply> starts = startAll();
        double startSeconds = (System.nanoTime() - t0) / 1e9;
        awaitAllWaiting();
        Waiting waiting = measureWaiting(startSeconds);
        Calls<SagaReplies.OperatorReply> signals = signalAll();
        await(
            () -> count(retried.ended) + count(signalled.ended) == options.sagas(),
            System.nanoTime() + backoff.plusSeconds(Math.round(startSeconds) + 300).toNanos(),
            Duration.ofSeconds(1));
        reportTimerPoller();

        var problems = new ArrayList<String>();
        starts.refusals("starts").ifPresent(problems::add);
        signals.refusals("signals").ifPresent(problems::add);
        // Pekko's scheduler runs a timer on the tick after it falls due, and a timer set during a
        // tick counts from that tick's start: it may fire up to one tick early.
        long tickNanos =
            node.system()
                .settings()
                .config()
                .getDuration("pekko.scheduler.tick-duration")
                .toNanos();
        Delays lateness = Delays.of(retried, backoff.toNanos(), tickNanos);
        Delays signalLatency = Delays.of(signalled, 0, 0);
        problems.addAll(callProblems(lateness));
        try (BenchDatabase db = BenchDatabase.connect(node.database())) {
          problems.addAll(storeProblems(db));
        }
        return new Result(
            options.sagas(),
            signalled.sagas(),
            options.backoffSeconds(),
            maxHeapMb,
            options.startRate(),
            startSeconds,
            achievedDueRate(),
            waiting.heapMb(),
            waiting.liveEntities(),
            Resources.peakHeapMb(),
            waiting.timers(),
            count(retried.ended),
            count(signalled.ended),
            lateness.ms(),
            lateness.earliestNanos() / 1e6,
            signalLatency.ms(),
            problems);
      }
    }

    private SagaDefinition<?> retriedSaga() {
      return SagaDefinition.builder(TYPE)
          .version(1)
          .step(
              Step.named(STEP)
                  .invoke(
                      LocalCall.of(
                          ctx -> {
                            int i = retried.index(ctx.sagaId());
                            long now = System.nanoTime();
                            if (ctx.attempt() == 1 && retried.began.compareAndSet(i, 0, now)) {
                              return CompletableFuture.failedFuture(
                                  new IllegalStateException("bench: not yet, come back later"));
                            }
                            if (ctx.attempt() != 2 || !retried.ended.compareAndSet(i, 0, now)) {
                              retried.extraCalls.incrementAndGet();
                            }
                            return CompletableFuture.completedFuture(Map.of());
                          }))
                  .noCompensation()
                  .retry(r -> r.maxAttempts(2).minBackoff(backoff).maxBackoff(backoff).jitter(0)))
          .build();
    }

    private SagaDefinition<?> signalledSaga() {
      return SagaDefinition.builder(SIGNAL_TYPE)
          .version(1)
          .step(GO, step -> step.awaitSignal(AwaitSignal.named(SIGNAL)).timeout(signalTimeout))
          .step(
              Step.named(AFTER)
                  .invoke(
                      LocalCall.of(
                          ctx -> {
                            long now = System.nanoTime();
                            int i = signalled.index(ctx.sagaId());
                            if (!signalled.ended.compareAndSet(i, 0, now)) {
                              signalled.extraCalls.incrementAndGet();
                            }
                            if (ctx.output(GO).index() != i) {
                              wrongPayloads.incrementAndGet();
                            }
                            return CompletableFuture.completedFuture(Map.of());
                          }))
                  .noCompensation())
          .build();
    }

    /** The kind of saga {@code i} (in start order), and its id. */
    private record Place(Kind kind, int index) {
      String sagaId() {
        return kind.sagaId(index);
      }
    }

    private Place place(int i) {
      int signalledBefore = options.signalledBefore(i);
      return options.signalled(i)
          ? new Place(signalled, signalledBefore)
          : new Place(retried, i - signalledBefore);
    }

    /** Starts every saga from {@link #t0}, at the start rate if one is set. */
    private Calls<SagaReplies.StartReply> startAll() {
      progress.accept(
          "starting "
              + options.sagas()
              + " sagas ("
              + signalled.sagas()
              + " signalled), "
              + (options.startRate() > 0 ? options.startRate() + "/s, " : "")
              + options.concurrency()
              + " in flight");
      var input = mapper.createObjectNode();
      var pace = new Pace(t0, options.startRate());
      var starts =
          new Calls<SagaReplies.StartReply>(
              options.concurrency(), reply -> reply instanceof SagaReplies.Accepted);
      for (int i = 0; i < options.sagas(); i++) {
        pace.awaitTurn();
        Place place = place(i);
        place.kind().started.set(place.index(), System.nanoTime());
        starts.send(() -> node.engine().start(place.sagaId(), place.kind().type, null, input));
        if ((i + 1) % 20_000 == 0) {
          progress.accept((i + 1) + " started");
        }
      }
      starts.awaitAnswers();
      return starts;
    }

    /**
     * Waits until every retried saga has failed its first attempt, and every saga whose wait is
     * durable has left memory (each passivates once its timer is written).
     */
    private void awaitAllWaiting() {
      await(
          () -> count(retried.began) == retried.sagas(),
          System.nanoTime() + TimeUnit.SECONDS.toNanos(120),
          Duration.ofMillis(200));
      Duration durableFrom =
          node.system().settings().config().getDuration("sagaflow.timers.durable-from");
      long inMemory =
          (backoff.compareTo(durableFrom) >= 0 ? 0 : retried.sagas())
              + (signalTimeout.compareTo(durableFrom) >= 0 ? 0 : signalled.sagas());
      await(
          () -> BenchRunner.liveEntities(node.engine(), prefix) <= inMemory,
          System.nanoTime() + TimeUnit.SECONDS.toNanos(120),
          Duration.ofMillis(500));
    }

    /** The heap, the sagas in memory and their durable timers while every saga waits. */
    private record Waiting(double heapMb, long liveEntities, long timers) {}

    private Waiting measureWaiting(double startSeconds) {
      progress.accept(
          "all started in "
              + Math.round(startSeconds)
              + " s; "
              + (count(retried.began) - count(retried.ended) + signalled.sagas())
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
      return new Waiting(heapMb, live, timers);
    }

    /**
     * Sends each signalled saga its signal, in start order, as if it fell due like a retry: a
     * backoff after the bench started it.
     */
    private Calls<SagaReplies.OperatorReply> signalAll() {
      var signals =
          new Calls<SagaReplies.OperatorReply>(
              options.concurrency(), reply -> reply instanceof SagaReplies.Done);
      int sent = 0;
      for (int i = 0; i < options.sagas(); i++) {
        if (!options.signalled(i)) {
          continue;
        }
        Place place = place(i);
        long due = signalled.started.get(place.index()) + backoff.toNanos();
        for (long wait = due - System.nanoTime(); wait > 0; wait = due - System.nanoTime()) {
          LockSupport.parkNanos(wait);
        }
        signals.send(
            () -> {
              signalled.began.set(place.index(), System.nanoTime());
              return node.engine()
                  .signal(
                      place.sagaId(),
                      SIGNAL,
                      place.sagaId() + "/" + SIGNAL,
                      mapper.valueToTree(new Go(place.index())));
            });
        if (++sent % 20_000 == 0) {
          progress.accept(sent + " signals sent");
        }
      }
      signals.awaitAnswers();
      return signals;
    }

    /** Waits ending per second, from the first to the last: retries due and signals sent. */
    private double achievedDueRate() {
      var due = new LongSummaryStatistics();
      addNonZero(due, retried.began, backoff.toNanos());
      addNonZero(due, signalled.began, 0);
      return due.getCount() < 2 || due.getMax() == due.getMin()
          ? 0
          : (due.getCount() - 1) * 1e9 / (due.getMax() - due.getMin());
    }

    private void reportTimerPoller() {
      var wakes =
          NodeMetrics.get(node.system().classicSystem())
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
    }

    /** What the sagas' calls, as the bench saw them, say went wrong. */
    private List<String> callProblems(Delays lateness) {
      var problems = new ArrayList<String>();
      long retriedDone = count(retried.ended);
      if (retriedDone < retried.sagas()) {
        problems.add((retried.sagas() - retriedDone) + " sagas never made their second attempt");
      }
      long signalledDone = count(signalled.ended);
      if (signalledDone < signalled.sagas()) {
        problems.add(
            (signalled.sagas() - signalledDone)
                + " signalled sagas never ran their step '"
                + AFTER
                + "'");
      }
      if (lateness.early() > 0) {
        problems.add(
            lateness.early()
                + " sagas were retried more than a scheduler tick before their backoff was over");
      }
      if (retried.extraCalls.get() > 0) {
        problems.add(retried.extraCalls.get() + " calls beyond the two each saga needs");
      }
      if (signalled.extraCalls.get() > 0) {
        problems.add(
            signalled.extraCalls.get()
                + " calls of step '"
                + AFTER
                + "' beyond the one each signalled saga needs");
      }
      if (wrongPayloads.get() > 0) {
        problems.add(
            wrongPayloads.get()
                + " signalled sagas' step '"
                + AFTER
                + "' read another output of step '"
                + GO.name()
                + "' than their signal's payload");
      }
      return problems;
    }

    /** What the journal and the timer table say went wrong, given a minute to settle. */
    private List<String> storeProblems(BenchDatabase db) {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      var problems = new ArrayList<String>();
      problems.addAll(
          journalProblems(
              db,
              retried,
              "SagaStarted,StepAttemptFailed(" + STEP + "),SagaCompleted(" + STEP + ")",
              deadline));
      problems.addAll(
          journalProblems(
              db,
              signalled,
              "SagaStarted,SignalReceived,StepSucceeded("
                  + GO.name()
                  + "),SagaCompleted("
                  + AFTER
                  + ")",
              deadline));
      long retriedTimers = timersLeft(db, retried, deadline);
      if (retriedTimers > 0) {
        problems.add(retriedTimers + " durable timers left after every saga completed");
      }
      // A signalled saga's timer falls due at its timeout, and the poller deletes it then whatever
      // the saga did: so that the check tells whether taking the signal removed it, it ends before
      // the first timeout.
      long signalledTimers =
          timersLeft(db, signalled, Math.min(deadline, t0 + signalTimeout.toNanos()));
      if (signalledTimers > 0) {
        problems.add(
            signalledTimers
                + " durable timers of signalled sagas left after they took their signal");
      }
      return problems;
    }

    /** Each saga of {@code kind} must have the journal {@code expected}. */
    private static List<String> journalProblems(
        BenchDatabase db, Kind kind, String expected, long deadline) {
      List<BenchDatabase.Signature> signatures = db.journalSignatures(kind.prefix);
      while (!(signatures.stream().allMatch(s -> s.events().equals(expected))
              && signatures.stream().mapToLong(BenchDatabase.Signature::sagas).sum()
                  == kind.sagas())
          && System.nanoTime() < deadline) {
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(500));
        signatures = db.journalSignatures(kind.prefix);
      }
      var problems = new ArrayList<String>();
      for (BenchDatabase.Signature s : signatures) {
        if (!s.events().equals(expected) || s.sagas() != kind.sagas()) {
          problems.add(
              s.sagas() + " sagas have the journal " + s.events() + " (e.g. " + s.example() + ")");
        }
      }
      return problems;
    }

    private static long timersLeft(BenchDatabase db, Kind kind, long deadline) {
      await(() -> db.timers(kind.prefix) == 0, deadline, Duration.ofMillis(500));
      return db.timers(kind.prefix);
    }
  }

  /**
   * Per saga of a kind whose wait ended: ended - began - {@code offset}. Milliseconds p50, p99 and
   * max (a negative one as 0), the smallest in nanoseconds (0 when none ended), and how many were
   * more than {@code tolerance} below 0.
   */
  private record Delays(long[] ms, long earliestNanos, long early) {
    static Delays of(Kind kind, long offsetNanos, long toleranceNanos) {
      Histogram histogram = new Histogram(3);
      long earliest = Long.MAX_VALUE;
      long early = 0;
      for (int i = 0; i < kind.sagas(); i++) {
        if (kind.ended.get(i) == 0) {
          continue;
        }
        long delay = kind.ended.get(i) - kind.began.get(i) - offsetNanos;
        earliest = Math.min(earliest, delay);
        if (delay < -toleranceNanos) {
          early++;
        }
        histogram.recordValue(TimeUnit.NANOSECONDS.toMillis(Math.max(0, delay)));
      }
      return new Delays(
          new long[] {
            histogram.getValueAtPercentile(50),
            histogram.getValueAtPercentile(99),
            histogram.getMaxValue()
          },
          earliest == Long.MAX_VALUE ? 0 : earliest,
          early);
    }
  }

  /**
   * Requests of one kind to the engine (starts, signals): at most {@code limit} in flight, and the
   * answers that are not {@code accepted} (or failures) counted.
   */
  private static final class Calls<R> {
    private final int limit;
    private final Semaphore inFlight;
    private final Predicate<? super R> accepted;
    private final AtomicLong refused = new AtomicLong();
    private final AtomicReference<String> firstRefusal = new AtomicReference<>();

    Calls(int limit, Predicate<? super R> accepted) {
      this.limit = limit;
      this.inFlight = new Semaphore(limit);
      this.accepted = accepted;
    }

    /** Sends {@code request} once fewer than {@code limit} are unanswered. */
    void send(Supplier<? extends CompletionStage<? extends R>> request) {
      inFlight.acquireUninterruptibly();
      request
          .get()
          .whenComplete(
              (reply, failure) -> {
                if (failure != null || !accepted.test(reply)) {
                  refused.incrementAndGet();
                  firstRefusal.compareAndSet(
                      null, failure != null ? failure.toString() : String.valueOf(reply));
                }
                inFlight.release();
              });
    }

    /** Waits until every request sent is answered. */
    void awaitAnswers() {
      inFlight.acquireUninterruptibly(limit);
      inFlight.release(limit);
    }

    /** The problem, if any {@code what} was refused or failed. */
    Optional<String> refusals(String what) {
      return refused.get() == 0
          ? Optional.empty()
          : Optional.of(
              refused.get()
                  + " "
                  + what
                  + " refused or failed, the first with "
                  + firstRefusal.get());
    }
  }

  /**
   * Items at {@code perSecond}, evenly (none held back at rate 0). One that comes late does not
   * make the next ones hurry beyond a few milliseconds' worth: a node slow at first (a cold JIT)
   * would otherwise get a burst at twice the rate once it keeps up, and the waits would fall due in
   * that burst.
   */
  private static final class Pace {
    private static final long MAX_DEBT_NANOS = TimeUnit.MILLISECONDS.toNanos(10);
    private final long intervalNanos;
    private long next;

    Pace(long startNanos, double perSecond) {
      this.intervalNanos = perSecond > 0 ? (long) (1e9 / perSecond) : 0;
      this.next = startNanos;
    }

    void awaitTurn() {
      if (intervalNanos == 0) {
        return;
      }
      long now = System.nanoTime();
      for (; now < next; now = System.nanoTime()) {
        LockSupport.parkNanos(next - now);
      }
      next = Math.max(next, now - MAX_DEBT_NANOS) + intervalNanos;
    }
  }

  /** Waits until {@code done} holds or {@code deadlineNanos} passes. */
  private static void await(BooleanSupplier done, long deadlineNanos, Duration poll) {
    while (!done.getAsBoolean() && System.nanoTime() < deadlineNanos) {
      LockSupport.parkNanos(poll.toNanos());
    }
  }

  private static void addNonZero(LongSummaryStatistics to, AtomicLongArray times, long offset) {
    for (int i = 0; i < times.length(); i++) {
      if (times.get(i) != 0) {
        to.accept(times.get(i) + offset);
      }
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
