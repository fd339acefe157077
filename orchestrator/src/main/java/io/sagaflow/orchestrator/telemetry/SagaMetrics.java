package io.sagaflow.orchestrator.telemetry;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.sagaflow.orchestrator.SagaRegistry;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.history.Phase;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The sagas' counters and histograms, from what they tell their {@link SagaTelemetry}: sagas
 * started and finished (with their duration), attempts by outcome (with theirs), duplicates
 * absorbed, retries scheduled. Labels are saga type, step, participant, phase, outcome, status and
 * kind, all bounded by the registered definitions; never a saga id.
 *
 * <p>Runs on the sagas' threads: every meter is looked up once and kept (a registry's own lookup
 * builds and hashes its tags on every call), the maps are read without locks, and an attempt costs
 * the map lookup of its step, one small object and {@link System#nanoTime()} twice.
 */
public final class SagaMetrics implements SagaTelemetry {

  static final String STARTED = "sagaflow.sagas.started";
  static final String FINISHED = "sagaflow.sagas.finished";
  static final String SAGA_DURATION = "sagaflow.saga.duration";
  static final String STEP_ATTEMPTS = "sagaflow.step.attempts";
  static final String STEP_ATTEMPT_DURATION = "sagaflow.step.attempt.duration";
  static final String COMPENSATION_ATTEMPTS = "sagaflow.compensation.attempts";
  static final String COMPENSATION_ATTEMPT_DURATION = "sagaflow.compensation.attempt.duration";
  static final String DUPLICATES = "sagaflow.duplicates";
  static final String RETRIES_SCHEDULED = "sagaflow.retries.scheduled";
  static final String RETRY_AFTER_HONOURED = "sagaflow.retry.after.honoured";
  static final String DEADLINE = "sagaflow.saga.deadline";
  static final String SIGNALS_RECEIVED = "sagaflow.signals.received";

  /** The statuses a saga finishes in, as {@code sagaflow_sagas_finished_total} counts them. */
  private static final SagaStatus[] FINISHED_STATUSES = {
    SagaStatus.COMPLETED, SagaStatus.COMPENSATED, SagaStatus.FAILED
  };

  private static final Duration[] ATTEMPT_BUCKETS =
      seconds(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60);
  private static final Duration[] SAGA_BUCKETS =
      seconds(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600);

  private final MeterRegistry registry;
  private final Map<String, TypeMeters> types = new ConcurrentHashMap<>();
  private final Map<StepKey, AttemptMeters> attempts = new ConcurrentHashMap<>();
  private final Map<StepKey, RetryMeters> retries = new ConcurrentHashMap<>();

  /** Meters in {@code registry}, each made when first needed. */
  public SagaMetrics(MeterRegistry registry) {
    this.registry = registry;
  }

  /**
   * As {@link #SagaMetrics(MeterRegistry)}, with the counters of every type in {@code sagas} and of
   * every signal its definitions wait for made at once (a type nothing happened to yet shows zeros,
   * not nothing) and its deadline as {@code sagaflow_saga_deadline_seconds}.
   */
  public SagaMetrics(MeterRegistry registry, SagaRegistry sagas) {
    this(registry);
    for (String type : sagas.types()) {
      TypeMeters meters = type(type);
      sagas.versions(type).stream()
          .flatMap(definition -> definition.signals().stream())
          .forEach(meters::signal);
      sagas
          .find(type, null)
          .flatMap(SagaDefinition::deadline)
          .ifPresent(
              deadline ->
                  Gauge.builder(DEADLINE, deadline, d -> d.toNanos() / 1e9)
                      .description("The saga type's deadline (its newest version's)")
                      .baseUnit("seconds")
                      .tag("saga_type", type)
                      .register(registry));
    }
  }

  @Override
  public void eventWritten(String sagaId, SagaEvent event, SagaSnapshot after) {
    if (event instanceof SagaEvent.SagaStarted started) {
      type(started.type()).started.increment();
      return;
    }
    if (event instanceof SagaEvent.SignalReceived signal
        && after instanceof SagaSnapshot.Started saga) {
      type(saga.type()).signal(signal.signal()).increment();
      return;
    }
    if (!event.changesStatus() || !(after instanceof SagaSnapshot.Started saga)) {
      return;
    }
    int finished = finishedIndex(saga.status());
    if (finished >= 0) {
      TypeMeters meters = type(saga.type());
      meters.finished[finished].increment();
      meters.durations[finished].record(Duration.between(saga.createdAt(), event.at()));
    }
  }

  @Override
  public Attempt attemptStarted(AttemptStart start) {
    var key = new StepKey(start.sagaType(), start.phase(), start.step(), start.participant());
    AttemptMeters meters = attempts.get(key);
    if (meters == null) {
      meters = attempts.computeIfAbsent(key, AttemptMeters::new);
    }
    return new MeteredAttempt(start, meters, System.nanoTime());
  }

  @Override
  public void retryScheduled(
      String sagaType, Phase phase, String step, Duration delay, boolean retryAfter) {
    var key = new StepKey(sagaType, phase, step, null);
    RetryMeters meters = retries.get(key);
    if (meters == null) {
      meters = retries.computeIfAbsent(key, RetryMeters::new);
    }
    meters.scheduled.increment();
    if (retryAfter) {
      meters.honoured.increment();
    }
  }

  @Override
  public void duplicate(Duplicate kind, String sagaType) {
    type(sagaType).duplicates[kind.ordinal()].increment();
  }

  private TypeMeters type(String sagaType) {
    TypeMeters meters = types.get(sagaType);
    return meters != null ? meters : types.computeIfAbsent(sagaType, TypeMeters::new);
  }

  private static int finishedIndex(SagaStatus status) {
    for (int i = 0; i < FINISHED_STATUSES.length; i++) {
      if (FINISHED_STATUSES[i] == status) {
        return i;
      }
    }
    return -1;
  }

  private static String label(Phase phase) {
    return phase.name().toLowerCase(Locale.ROOT);
  }

  private static Duration[] seconds(double... values) {
    var durations = new Duration[values.length];
    for (int i = 0; i < values.length; i++) {
      durations[i] = Duration.ofNanos(Math.round(values[i] * 1e9));
    }
    return durations;
  }

  /** A step of a saga type in one phase; {@code participant} null where it is no label. */
  private record StepKey(String sagaType, Phase phase, String step, String participant) {}

  /** The meters of one saga type, made together when the type is first seen. */
  private final class TypeMeters {
    final Counter started;
    final Counter[] finished = new Counter[FINISHED_STATUSES.length];
    final Timer[] durations = new Timer[FINISHED_STATUSES.length];
    final Counter[] duplicates = new Counter[Duplicate.values().length];
    final Tags typeTags;

    /** By signal name: only the names the type's definitions declare are ever received. */
    final Map<String, Counter> signals = new ConcurrentHashMap<>();

    TypeMeters(String sagaType) {
      Tags type = Tags.of("saga_type", sagaType);
      typeTags = type;
      started =
          Counter.builder(STARTED)
              .description("Sagas started (SagaStarted written; a replayed start is a duplicate)")
              .tags(type)
              .register(registry);
      for (int i = 0; i < FINISHED_STATUSES.length; i++) {
        String status = FINISHED_STATUSES[i].name();
        finished[i] =
            Counter.builder(FINISHED)
                .description("Sagas that reached a status a saga finishes in (FAILED: for now)")
                .tags(type)
                .tag("status", status)
                .register(registry);
        durations[i] =
            Timer.builder(SAGA_DURATION)
                .description("From a saga's start to its COMPLETED, COMPENSATED or FAILED")
                .tags(type)
                .tag("status", status)
                .serviceLevelObjectives(SAGA_BUCKETS)
                .register(registry);
      }
      for (Duplicate kind : Duplicate.values()) {
        duplicates[kind.ordinal()] =
            Counter.builder(DUPLICATES)
                .description("Requests and answers absorbed as duplicates")
                .tags(type)
                .tag("kind", kind.label())
                .register(registry);
      }
    }

    Counter signal(String name) {
      Counter counter = signals.get(name);
      return counter != null
          ? counter
          : signals.computeIfAbsent(
              name,
              n ->
                  Counter.builder(SIGNALS_RECEIVED)
                      .description(
                          "Signals received (SignalReceived written; a repeat is a duplicate)")
                      .tags(typeTags)
                      .tag("signal", n)
                      .register(registry));
    }
  }

  /** The attempt meters of one step in one phase, one counter and timer per outcome seen. */
  private final class AttemptMeters {
    final Tags tags;
    final TypeMeters type;
    final boolean forward;
    final AtomicReferenceArray<Counter> counters =
        new AtomicReferenceArray<>(AttemptOutcome.values().length);
    final AtomicReferenceArray<Timer> timers =
        new AtomicReferenceArray<>(AttemptOutcome.values().length);

    AttemptMeters(StepKey key) {
      this.tags =
          Tags.of(
              "saga_type", key.sagaType(), "step", key.step(), "participant", key.participant());
      this.type = type(key.sagaType());
      this.forward = key.phase() == Phase.FORWARD;
    }

    void ended(AttemptOutcome outcome, long nanos) {
      int i = outcome.ordinal();
      Counter counter = counters.get(i);
      Timer timer = timers.get(i);
      if (counter == null || timer == null) {
        // Registering twice (two sagas racing here) gives the same meters.
        Tags withOutcome = tags.and("outcome", outcome.label());
        counter =
            Counter.builder(forward ? STEP_ATTEMPTS : COMPENSATION_ATTEMPTS)
                .description(
                    forward
                        ? "Attempts of saga steps, by how they ended"
                        : "Attempts of compensations, by how they ended")
                .tags(withOutcome)
                .register(registry);
        timer =
            Timer.builder(forward ? STEP_ATTEMPT_DURATION : COMPENSATION_ATTEMPT_DURATION)
                .description("From an attempt's call to its answer (or timeout)")
                .tags(withOutcome)
                .serviceLevelObjectives(ATTEMPT_BUCKETS)
                .register(registry);
        counters.set(i, counter);
        timers.set(i, timer);
      }
      counter.increment();
      timer.record(nanos, TimeUnit.NANOSECONDS);
    }
  }

  /** The retry counters of one step in one phase. */
  private final class RetryMeters {
    final Counter scheduled;
    final Counter honoured;

    RetryMeters(StepKey key) {
      Tags tags =
          Tags.of("saga_type", key.sagaType(), "step", key.step(), "phase", label(key.phase()));
      scheduled =
          Counter.builder(RETRIES_SCHEDULED)
              .description("Retries scheduled after a failed attempt")
              .tags(tags)
              .register(registry);
      honoured =
          Counter.builder(RETRY_AFTER_HONOURED)
              .description("Retries whose delay is the participant's Retry-After (or longer)")
              .tags(tags)
              .register(registry);
    }
  }

  /** One attempt, timed by the monotonic clock from its start to its end. */
  private static final class MeteredAttempt implements Attempt {
    private final AttemptStart start;
    private final AttemptMeters meters;
    private final long startedNanos;
    private String traceparent;

    MeteredAttempt(AttemptStart start, AttemptMeters meters, long startedNanos) {
      this.start = start;
      this.meters = meters;
      this.startedNanos = startedNanos;
    }

    /** Made only when asked: behind a tracing telemetry, the tracer's is the one sent. */
    @Override
    public String traceparent() {
      if (traceparent == null) {
        traceparent = Attempt.untraced(start).traceparent();
      }
      return traceparent;
    }

    @Override
    public void ended(AttemptEnd end) {
      meters.ended(end.outcome(), System.nanoTime() - startedNanos);
      if (end.replayed()) {
        meters.type.duplicates[Duplicate.PARTICIPANT_REPLAY.ordinal()].increment();
      }
    }
  }
}
