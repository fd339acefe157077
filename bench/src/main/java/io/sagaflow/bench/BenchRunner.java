package io.sagaflow.bench;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.sagaflow.node.SagaflowNode;
import io.sagaflow.orchestrator.SagaEngine;
import io.sagaflow.orchestrator.SagaFinished;
import io.sagaflow.orchestrator.SagaReplies;
import io.sagaflow.orchestrator.SagaStatus;
import java.io.BufferedWriter;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import org.HdrHistogram.ConcurrentHistogram;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.pattern.AskTimeoutException;

/**
 * Runs a benchmark: starts a node (and, for HTTP steps, the participant JVM), runs the warm-up, the
 * open loop's lead-in and the measured phase, waits until the sagas' work is done (index caught up,
 * entities passivated), then reads the figures and checks every saga. {@link Bench} is the command
 * line around it; tests call it directly.
 */
public final class BenchRunner {

  private static final Duration POLL = Duration.ofMillis(50);
  private static final Duration QUIESCE_TIMEOUT = Duration.ofSeconds(120);
  // pg_stat_database lags: a backend reports its counts at most every 500 ms.
  private static final Duration STATS_SETTLE = Duration.ofMillis(700);
  private static final Duration PROGRESS_EVERY = Duration.ofSeconds(5);
  private static final int MAX_PROBLEMS_LISTED = 10;
  private static final Set<String> TERMINAL =
      Set.of(SagaStatus.COMPLETED.name(), SagaStatus.COMPENSATED.name(), SagaStatus.FAILED.name());

  private BenchRunner() {}

  /**
   * Runs the benchmark {@code options} describe.
   *
   * @param env environment variables: {@code SAGAFLOW_DB_URL} (with user and password) selects an
   *     external database; without it an embedded one starts in a fresh temporary directory
   * @param progress receives a line now and then about what the run is doing
   * @return the figures; {@link BenchResult#problems()} lists every saga that went wrong
   */
  public static BenchResult run(
      BenchOptions options, Map<String, String> env, Consumer<String> progress) {
    var saga = new SyntheticSaga(options.steps(), options.failAt(), options.participants());
    Map<String, String> nodeEnv = new HashMap<>(env);
    // The participant URL is the bench's to set.
    nodeEnv.keySet().removeIf(k -> k.startsWith("SAGAFLOW_PARTICIPANTS_"));
    Map<String, Object> overrides = new HashMap<>();
    ParticipantProcess participant = null;
    try {
      if (options.participants() == BenchOptions.Participants.HTTP) {
        progress.accept("starting the participant JVM");
        participant = ParticipantProcess.start();
        overrides.put(
            "sagaflow.participants." + SyntheticSaga.PARTICIPANT + ".url", participant.baseUrl());
      }
      try (BenchNode node =
              BenchNode.start(
                  nodeEnv, options.noFsync(), overrides, List.of(saga.definition()), progress);
          BenchDatabase db = BenchDatabase.connect(node.node().database())) {
        return new Run(options, saga, node.node(), db, participant, node.embedded(), progress)
            .run();
      }
    } finally {
      if (participant != null) {
        participant.close();
      }
    }
  }

  /**
   * Saga entities alive on this node whose id starts with {@code prefix}; 0 if sharding cannot say.
   */
  static long liveEntities(SagaEngine engine, String prefix) {
    try {
      return engine
          .localShards()
          .toCompletableFuture()
          .get(10, TimeUnit.SECONDS)
          .getShards()
          .stream()
          .flatMap(s -> s.getEntityIds().stream())
          .filter(id -> id.startsWith(prefix))
          .count();
    } catch (Exception e) {
      return 0;
    }
  }

  /** One run on a started node. */
  private static final class Run {
    private final BenchOptions options;
    private final SyntheticSaga saga;
    private final SagaflowNode node;
    private final SagaEngine engine;
    private final BenchDatabase db;
    private final ParticipantProcess participant;
    private final boolean embedded;
    private final Consumer<String> progress;
    private final Finishes finishes;
    private final String runId = UUID.randomUUID().toString().substring(0, 8);

    Run(
        BenchOptions options,
        SyntheticSaga saga,
        SagaflowNode node,
        BenchDatabase db,
        ParticipantProcess participant,
        boolean embedded,
        Consumer<String> progress) {
      this.options = options;
      this.saga = saga;
      this.node = node;
      this.engine = node.engine();
      this.db = db;
      this.participant = participant;
      this.embedded = embedded;
      this.progress = progress;
      this.finishes = Finishes.listen(node.system());
    }

    BenchResult run() {
      BenchDatabase.Info info = db.info();
      var problems = new ArrayList<String>();
      if (options.warmup() > 0) {
        String prefix = "bench-" + runId + "-w-";
        progress.accept(
            "warm-up: "
                + options.warmup()
                + " sagas, closed loop at concurrency "
                + options.concurrency());
        Phase warmup = new Phase(Kind.WARM_UP, prefix, options.warmup());
        runClosed(warmup, options.concurrency());
        settleUncounted(warmup, problems);
        if (warmup.startErrors.sum() > 0) {
          progress.accept(
              "warm-up: "
                  + warmup.startErrors.sum()
                  + " starts were not acknowledged within the ask timeout (cold node)");
        }
      }
      if (!options.noAnalyze()) {
        progress.accept("ANALYZE of the journal and index tables");
        db.analyze();
      }
      if (options.leadInSeconds() > 0) {
        progress.accept(
            "lead-in: "
                + options.rate()
                + " sagas/s for "
                + options.leadInSeconds()
                + " s, not counted");
        Phase leadIn = new Phase(Kind.LEAD_IN, "bench-" + runId + "-l-", options.leadInSagas());
        runOpen(leadIn, options.rate());
        settleUncounted(leadIn, problems);
      }

      String prefix = "bench-" + runId + "-m-";
      Phase phase = new Phase(Kind.MEASURED, prefix, options.measuredSagas());
      progress.accept("measuring: " + options.describe());
      Map<String, Long> callsBefore = calls();
      ParticipantProcess.Stats participantBefore = participant == null ? null : participant.stats();
      double participantCpuBefore = participant == null ? Double.NaN : participant.cpuSeconds();
      double dbCpuBefore = dbCpuSeconds();
      long gcCountBefore = Resources.gcCount();
      long gcMillisBefore = Resources.gcMillis();
      BenchDatabase.Counters before = db.counters();
      Resources.resetHeapPeak();
      long cpuBefore = Resources.processCpuNanos();
      long windowStart = System.nanoTime();

      if (options.openLoop()) {
        runOpen(phase, options.rate());
      } else {
        runClosed(phase, options.concurrency());
      }
      long cpuAfter = Resources.processCpuNanos();
      double peakHeap = Resources.peakHeapMb();
      double indexLag = quiesce(phase);
      LockSupport.parkNanos(STATS_SETTLE.toNanos());
      BenchDatabase.Counters after = db.counters();
      double windowSeconds = (System.nanoTime() - windowStart) / 1e9;
      double dbCpu = dbCpuSeconds() - dbCpuBefore;
      double participantCpu =
          participant == null ? Double.NaN : participant.cpuSeconds() - participantCpuBefore;
      Map<String, Long> calls = minus(calls(), callsBefore);

      phase.verifyOutcome();
      phase.verifyCalls(calls);
      if (participant != null) {
        ParticipantProcess.Stats stats = participant.stats();
        long keys = stats.keys() - participantBefore.keys();
        long total = calls.values().stream().mapToLong(Long::longValue).sum();
        if (keys != total) {
          phase.problem(
              total + " participant calls carried " + keys + " distinct idempotency keys");
        }
        if (stats.repeatedKeys() != participantBefore.repeatedKeys()
            || stats.missingKeys() != participantBefore.missingKeys()) {
          phase.problem(
              "participant saw "
                  + (stats.repeatedKeys() - participantBefore.repeatedKeys())
                  + " repeated and "
                  + (stats.missingKeys() - participantBefore.missingKeys())
                  + " missing idempotency keys");
        }
      }
      options.timeline().ifPresent(phase::writeTimeline);
      problems.addAll(phase.problems);

      long ownStatements = after.ownStatements() - before.ownStatements();
      return new BenchResult(
          options,
          info.describe(),
          embedded,
          phase.total,
          phase.byStatus(SagaStatus.COMPLETED),
          phase.byStatus(SagaStatus.COMPENSATED),
          phase.byStatus(SagaStatus.FAILED),
          phase.total - phase.ended(),
          phase.startErrors.sum(),
          phase.elapsedSeconds(),
          BenchResult.Latency.of(phase.latency),
          BenchResult.Latency.of(phase.ack),
          phase.journalRows,
          after.shardingRows() - before.shardingRows(),
          after.coordinatorRows() - before.coordinatorRows(),
          after.commits() - before.commits() - ownStatements,
          after.nextXid() - before.nextXid(),
          after.rollbacks() - before.rollbacks(),
          calls,
          peakHeap,
          (cpuAfter - cpuBefore) / 1e9,
          dbCpu,
          participantCpu,
          Resources.gcCount() - gcCountBefore,
          (Resources.gcMillis() - gcMillisBefore) / 1000.0,
          indexLag,
          windowSeconds,
          List.copyOf(problems));
    }

    /**
     * Waits until a phase that is not counted (warm-up, lead-in) has done its work and checks its
     * sagas as the measured ones are checked; its problems fail the run too.
     */
    private void settleUncounted(Phase phase, List<String> problems) {
      quiesce(phase);
      phase.verifyOutcome();
      phase.problems.forEach(p -> problems.add(phase.name + ": " + p));
    }

    private double dbCpuSeconds() {
      return node.embeddedDatabase()
          .map(e -> Resources.treeCpuSeconds(e.serverPid()).orElse(Double.NaN))
          .orElse(Double.NaN);
    }

    private Map<String, Long> calls() {
      if (participant == null) {
        return saga.localCalls();
      }
      return participant.stats().calls();
    }

    // ---- load ---------------------------------------------------------------------------------

    /** {@code concurrency} sagas in flight; each one that ends starts the next. */
    private void runClosed(Phase phase, int concurrency) {
      ExecutorService executor = Executors.newSingleThreadExecutor(daemon("bench-closed-loop"));
      // The last sagas' continuations may arrive after the phase is over and the executor is shut.
      Executor next =
          task -> {
            try {
              executor.execute(task);
            } catch (RejectedExecutionException e) {
              // Nothing left to start.
            }
          };
      try {
        var counter = new AtomicInteger();
        Runnable[] launch = new Runnable[1];
        launch[0] =
            () -> {
              int i = counter.getAndIncrement();
              if (i < phase.total) {
                phase
                    .start(i, System.nanoTime())
                    .whenCompleteAsync((finish, error) -> launch[0].run(), next);
              }
            };
        phase.began(System.nanoTime());
        for (int c = 0; c < Math.min(concurrency, phase.total); c++) {
          next.execute(launch[0]);
        }
        phase.await(options.timeoutSeconds(), progress);
      } finally {
        executor.shutdownNow();
      }
    }

    /**
     * Saga {@code i} is due at {@code t0 + i / rate}, whatever happened to the earlier ones; its
     * latencies count from that time, so a stall delays and counts every saga due meanwhile.
     */
    private void runOpen(Phase phase, int rate) {
      long t0 = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(10);
      phase.began(t0);
      Thread generator =
          daemon("bench-open-loop")
              .newThread(
                  () -> {
                    for (int i = 0; i < phase.total; i++) {
                      long intended = t0 + (long) (i * 1e9 / rate);
                      long wait;
                      while ((wait = intended - System.nanoTime()) > 0) {
                        LockSupport.parkNanos(wait);
                      }
                      phase.start(i, intended);
                    }
                  });
      generator.start();
      try {
        phase.await(options.timeoutSeconds() + phase.total / rate + 1, progress);
      } finally {
        generator.interrupt();
      }
    }

    // ---- after the load -----------------------------------------------------------------------

    /**
     * Waits until the phase's sagas have done all their work: the saga index shows every one of
     * them ended, none is alive any more (passivated, so its remember-entities stop is written),
     * and sharding's journal rows have stopped growing. Returns the index's lag behind the last
     * saga's end, in seconds.
     */
    private double quiesce(Phase phase) {
      long deadline = System.nanoTime() + QUIESCE_TIMEOUT.toNanos();
      Map<String, Long> statuses = db.indexStatuses(phase.prefix);
      while (terminal(statuses) < phase.ended() && System.nanoTime() < deadline) {
        LockSupport.parkNanos(POLL.toNanos());
        statuses = db.indexStatuses(phase.prefix);
      }
      double lag =
          phase.lastEnd.get() == Long.MIN_VALUE
              ? 0
              : Math.max(0, (System.nanoTime() - phase.lastEnd.get()) / 1e9);
      phase.indexStatuses = statuses;
      while (liveEntities(phase.prefix) > 0 && System.nanoTime() < deadline) {
        LockSupport.parkNanos(POLL.toNanos());
      }
      long rows = db.counters().shardingRows();
      while (System.nanoTime() < deadline) {
        LockSupport.parkNanos(Duration.ofMillis(300).toNanos());
        long again = db.counters().shardingRows();
        if (again == rows) {
          break;
        }
        rows = again;
      }
      if (System.nanoTime() >= deadline) {
        phase.problem("the node did not settle within " + QUIESCE_TIMEOUT.toSeconds() + " s");
      }
      phase.journalRows = db.sagaRows(phase.prefix);
      phase.signatures = db.journalSignatures(phase.prefix);
      return lag;
    }

    private long liveEntities(String prefix) {
      return BenchRunner.liveEntities(node.engine(), prefix);
    }

    private static long terminal(Map<String, Long> statuses) {
      return statuses.entrySet().stream()
          .filter(e -> TERMINAL.contains(e.getKey()))
          .mapToLong(Map.Entry::getValue)
          .sum();
    }

    // ---- one phase ----------------------------------------------------------------------------

    /** What a phase is for. */
    private enum Kind {
      /** Closed loop on a node just started: start acknowledgements may time out (cold code). */
      WARM_UP("warm-up"),
      /** Open loop at the measured rate, not counted: the node settles into the rate. */
      LEAD_IN("lead-in"),
      /** Counted. */
      MEASURED("measured");

      final String label;

      Kind(String label) {
        this.label = label;
      }
    }

    /** The sagas of one phase (warm-up, lead-in or measured): their ids, timings and outcomes. */
    private final class Phase {
      final String name;
      final boolean coldStart;
      final String prefix;
      final int total;
      final ConcurrentHistogram latency = new ConcurrentHistogram(3);
      final ConcurrentHistogram ack = new ConcurrentHistogram(3);

      /** For {@code --timeline}: each saga's intended start and end (nanoTime; 0: not ended). */
      final long[] intendedAt;

      final long[] endedAt;
      final Map<SagaStatus, LongAdder> statuses = new ConcurrentHashMap<>();
      final LongAdder startErrors = new LongAdder();
      final AtomicInteger settled = new AtomicInteger();
      final AtomicLong lastEnd = new AtomicLong(Long.MIN_VALUE);
      final CompletableFuture<Void> allSettled = new CompletableFuture<>();
      final List<String> problems = Collections.synchronizedList(new ArrayList<>());
      final AtomicInteger problemsSeen = new AtomicInteger();
      volatile long began;
      Map<String, Long> indexStatuses = Map.of();
      long journalRows;
      List<BenchDatabase.Signature> signatures = List.of();

      Phase(Kind kind, String prefix, int total) {
        this.name = kind.label;
        this.coldStart = kind == Kind.WARM_UP;
        this.prefix = prefix;
        this.total = total;
        boolean timeline = kind == Kind.MEASURED && options.timeline().isPresent();
        this.intendedAt = timeline ? new long[total] : null;
        this.endedAt = timeline ? new long[total] : null;
        if (total == 0) {
          allSettled.complete(null);
        }
      }

      void began(long nanos) {
        began = nanos;
      }

      /** Starts saga {@code i}, due at {@code intended}; completes when it has ended or failed. */
      CompletableFuture<Finishes.Finish> start(int i, long intended) {
        String id = prefix + i;
        CompletableFuture<Finishes.Finish> finish = finishes.expect(id);
        if (intendedAt != null) {
          intendedAt[i] = intended;
        }
        CompletionStage<SagaReplies.StartReply> reply;
        try {
          reply =
              engine.start(
                  id, SyntheticSaga.TYPE, null, JsonNodeFactory.instance.objectNode().put("n", i));
        } catch (RuntimeException e) {
          reply = CompletableFuture.failedFuture(e);
        }
        reply.whenComplete(
            (answer, error) -> {
              ack.recordValue(micros(System.nanoTime() - intended));
              if (error != null) {
                startErrors.increment();
                // A cold node (shards allocated, code not yet compiled) may miss the ask timeout
                // in the warm-up; the saga still has to end as expected, which is checked.
                Throwable cause =
                    error instanceof java.util.concurrent.CompletionException
                            && error.getCause() != null
                        ? error.getCause()
                        : error;
                if (cause instanceof SagaEngine.OverloadedException) {
                  // Refused by admission control: certainly not started, so it will not end.
                  problem(
                      "start of " + id + " refused, the node is overloaded: " + cause.getMessage());
                  finishes.abandon(id, cause);
                } else if (!(coldStart && cause instanceof AskTimeoutException)) {
                  problem("start of " + id + " failed: " + error);
                }
              } else if (!(answer instanceof SagaReplies.Accepted accepted && accepted.created())) {
                startErrors.increment();
                problem("start of " + id + " answered " + answer);
                finishes.abandon(id, new IllegalStateException("not started"));
              }
            });
        return finish.whenComplete(
            (ended, error) -> {
              if (ended != null) {
                latency.recordValue(micros(ended.nanos() - intended));
                if (endedAt != null) {
                  endedAt[i] = ended.nanos();
                }
                statuses.computeIfAbsent(ended.status(), s -> new LongAdder()).increment();
                lastEnd.accumulateAndGet(ended.nanos(), Math::max);
              }
              if (settled.incrementAndGet() == total) {
                allSettled.complete(null);
              }
            });
      }

      void await(int timeoutSeconds, Consumer<String> progress) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(timeoutSeconds);
        while (true) {
          long left = deadline - System.nanoTime();
          try {
            allSettled.get(Math.min(left, PROGRESS_EVERY.toNanos()), TimeUnit.NANOSECONDS);
            return;
          } catch (TimeoutException e) {
            if (System.nanoTime() >= deadline) {
              List<String> missing = finishes.pending(prefix, 5);
              problem(
                  (total - ended())
                      + " sagas had not ended after "
                      + timeoutSeconds
                      + " s, e.g. "
                      + missing);
              finishes.abandonAll(prefix);
              return;
            }
            progress.accept(
                String.format(
                    java.util.Locale.ROOT,
                    "%s: %d of %d sagas ended (%.0f/s)",
                    name,
                    ended(),
                    total,
                    ended() / ((System.nanoTime() - began) / 1e9)));
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        }
      }

      /**
       * One CSV line per saga: its intended start in ms after the phase began and in JVM uptime
       * (the clock of {@code -Xlog:gc:...:uptimemillis}), and its latency in ms (empty if it did
       * not end; all three empty if it was never started).
       */
      void writeTimeline(Path file) {
        long nowNanos = System.nanoTime();
        long uptimeMs = ManagementFactory.getRuntimeMXBean().getUptime();
        try (BufferedWriter out = Files.newBufferedWriter(file)) {
          out.write("saga,start_ms,jvm_uptime_ms,latency_ms\n");
          for (int i = 0; i < total; i++) {
            long intended = intendedAt[i];
            if (intended == 0) {
              out.write(i + ",,,\n"); // never started: the run was cut short
              continue;
            }
            out.write(
                String.format(
                    Locale.ROOT,
                    "%d,%.3f,%.3f,%s\n",
                    i,
                    (intended - began) / 1e6,
                    uptimeMs - (nowNanos - intended) / 1e6,
                    endedAt[i] == 0
                        ? ""
                        : String.format(Locale.ROOT, "%.3f", (endedAt[i] - intended) / 1e6)));
          }
        } catch (IOException e) {
          problem("could not write the timeline to " + file + ": " + e);
        }
      }

      long ended() {
        return statuses.values().stream().mapToLong(LongAdder::sum).sum();
      }

      long byStatus(SagaStatus status) {
        LongAdder n = statuses.get(status);
        return n == null ? 0 : n.sum();
      }

      double elapsedSeconds() {
        return lastEnd.get() == Long.MIN_VALUE ? 0 : (lastEnd.get() - began) / 1e9;
      }

      void problem(String problem) {
        if (problemsSeen.incrementAndGet() <= MAX_PROBLEMS_LISTED) {
          problems.add(problem);
        } else if (problemsSeen.get() == MAX_PROBLEMS_LISTED + 1) {
          problems.add("(more problems not listed)");
        }
      }

      /** Every saga ended as expected, in the event stream, the journal and the index. */
      void verifyOutcome() {
        SagaStatus expected = saga.expectedStatus();
        if (byStatus(expected) != total) {
          var seen = new LinkedHashMap<String, Long>();
          statuses.forEach((s, n) -> seen.put(s.name(), n.sum()));
          problem(
              "expected all "
                  + total
                  + " sagas to end "
                  + expected
                  + ", they ended "
                  + seen
                  + (ended() < total ? " and " + (total - ended()) + " did not end" : ""));
        }
        long duplicates = finishes.duplicates(prefix);
        if (duplicates > 0) {
          problem(duplicates + " sagas announced their end more than once");
        }
        String expectedEvents = String.join(",", saga.expectedEvents());
        long matching = 0;
        for (BenchDatabase.Signature s : signatures) {
          if (s.events().equals(expectedEvents)) {
            matching = s.sagas();
          } else {
            problem(
                s.sagas()
                    + " sagas have the journal ["
                    + s.events()
                    + "] instead of ["
                    + expectedEvents
                    + "], e.g. "
                    + s.example());
          }
        }
        long inJournal = signatures.stream().mapToLong(BenchDatabase.Signature::sagas).sum();
        if (inJournal != total) {
          problem(total + " sagas were started but " + inJournal + " are in the journal");
        } else if (matching != total) {
          problem("only " + matching + " of " + total + " sagas have the expected journal");
        }
        long expectedRows = (long) total * saga.expectedEvents().size();
        if (journalRows != expectedRows) {
          problem("journal holds " + journalRows + " rows for the sagas, expected " + expectedRows);
        }
        if (!indexStatuses.equals(Map.of(expected.name(), (long) total))) {
          problem(
              "saga index shows " + indexStatuses + ", expected {" + expected + "=" + total + "}");
        }
      }

      /** Each action and compensation was called exactly as often as the sagas needed. */
      void verifyCalls(Map<String, Long> calls) {
        Map<String, Long> expected = new LinkedHashMap<>();
        saga.expectedCallsPerSaga().forEach((call, n) -> expected.put(call, n * total));
        for (String call : union(expected.keySet(), calls.keySet())) {
          long want = expected.getOrDefault(call, 0L);
          long got = calls.getOrDefault(call, 0L);
          if (want != got) {
            problem("participant call " + call + " ran " + got + " times, expected " + want);
          }
        }
      }
    }
  }

  /**
   * The sagas a phase waits for, by id: completed (on the listener's thread) when the node
   * announces the saga's end on its event stream.
   */
  private static final class Finishes {
    record Finish(SagaStatus status, long nanos) {}

    private final Map<String, CompletableFuture<Finish>> pending = new ConcurrentHashMap<>();
    private final Set<String> ended = ConcurrentHashMap.newKeySet();
    private final Map<String, Long> duplicates = new ConcurrentHashMap<>();

    static Finishes listen(ActorSystem<?> system) {
      var finishes = new Finishes();
      ActorRef<SagaFinished> listener =
          system.systemActorOf(
              Behaviors.receiveMessage(
                  (SagaFinished finished) -> {
                    finishes.ended(finished, System.nanoTime());
                    return Behaviors.same();
                  }),
              "bench-finishes-" + UUID.randomUUID(),
              Props.empty());
      // Sagas start only after this: their Publish reaches the event stream after the Subscribe.
      system.eventStream().tell(new EventStream.Subscribe<>(SagaFinished.class, listener));
      return finishes;
    }

    CompletableFuture<Finish> expect(String sagaId) {
      var future = new CompletableFuture<Finish>();
      pending.put(sagaId, future);
      return future;
    }

    void ended(SagaFinished finished, long nanos) {
      if (!ended.add(finished.sagaId())) {
        duplicates.merge(finished.sagaId(), 1L, Long::sum);
        return;
      }
      CompletableFuture<Finish> future = pending.remove(finished.sagaId());
      if (future != null) {
        future.complete(new Finish(finished.status(), nanos));
      }
    }

    void abandon(String sagaId, Throwable why) {
      CompletableFuture<Finish> future = pending.remove(sagaId);
      if (future != null) {
        future.completeExceptionally(why);
      }
    }

    void abandonAll(String prefix) {
      pending.keySet().stream()
          .filter(id -> id.startsWith(prefix))
          .toList()
          .forEach(id -> abandon(id, new TimeoutException("did not end")));
    }

    List<String> pending(String prefix, int limit) {
      return pending.keySet().stream().filter(id -> id.startsWith(prefix)).limit(limit).toList();
    }

    long duplicates(String prefix) {
      return duplicates.keySet().stream().filter(id -> id.startsWith(prefix)).count();
    }
  }

  // ---- helpers --------------------------------------------------------------------------------

  private static long micros(long nanos) {
    return Math.max(0, nanos / 1000);
  }

  private static Map<String, Long> minus(Map<String, Long> after, Map<String, Long> before) {
    var delta = new LinkedHashMap<String, Long>();
    for (String key : union(after.keySet(), before.keySet())) {
      delta.put(key, after.getOrDefault(key, 0L) - before.getOrDefault(key, 0L));
    }
    return delta;
  }

  private static List<String> union(Set<String> a, Set<String> b) {
    var keys = new ArrayList<String>(a);
    b.stream().filter(k -> !a.contains(k)).forEach(keys::add);
    return keys;
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return runnable -> {
      Thread t = new Thread(runnable, name);
      t.setDaemon(true);
      return t;
    };
  }
}
