package io.sagaflow.orchestrator.internal;

import com.typesafe.config.Config;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.sagaflow.orchestrator.internal.Outcome.Retryable;
import io.sagaflow.orchestrator.telemetry.SagaMdc;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.apache.pekko.actor.Scheduler;
import org.apache.pekko.dispatch.ExecutionContexts;
import org.apache.pekko.pattern.CircuitBreaker;
import org.apache.pekko.pattern.CircuitBreakerOpenException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.jdk.javaapi.DurationConverters;

/**
 * One Pekko {@link CircuitBreaker} per participant name, created on its first call and shared by
 * every saga on the node, configured by {@code sagaflow.participant-client.circuit-breaker}.
 *
 * <p>The breaker only counts: a call it lets through is answered by the client's own future, so its
 * {@code call-timeout} never cuts an attempt shorter than the step's timeout (a call still running
 * after it merely counts as a failure). What counts as a failure is {@link #saysUnwell}. While it
 * is open, or half-open with its one trial call in flight, an attempt fails at once without any
 * HTTP call, as a {@link Retryable} whose error names the participant and the breaker.
 *
 * <p>Each breaker's state is the gauge {@code sagaflow_participant_breaker_state{participant,
 * state}}: 1 for its current state (closed, open or half_open), 0 for the others.
 */
final class ParticipantBreakers {

  static final String CONFIG_KEY = HttpParticipantClient.CONFIG_PATH + ".circuit-breaker";

  private static final Logger log = LoggerFactory.getLogger(ParticipantBreakers.class);

  private static final CompletionStage<Void> SETTLED = CompletableFuture.completedFuture(null);

  // 1 / phi: the step of the sequence that spreads the attempts turned away (Breaker.spreadShare).
  private static final double GOLDEN_RATIO_SHARE = (Math.sqrt(5) - 1) / 2;

  private final Settings settings;
  private final Scheduler scheduler;
  private final MeterRegistry meters;
  private final Map<String, Breaker> breakers = new ConcurrentHashMap<>();

  ParticipantBreakers(Settings settings, Scheduler scheduler, MeterRegistry meters) {
    this.settings = Objects.requireNonNull(settings, "settings");
    this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
    this.meters = Objects.requireNonNull(meters, "meters");
  }

  /** The breaker settings, read once. */
  record Settings(
      boolean enabled,
      int maxFailures,
      Duration callTimeout,
      Duration resetTimeout,
      Duration maxResetTimeout,
      double exponentialBackoff,
      double randomFactor) {

    Settings {
      if (maxFailures < 1) {
        throw invalid("max-failures must be at least 1, was " + maxFailures);
      }
      // Pekko ignores the failure definition of a breaker whose call timeout is zero.
      if (!isPositive(callTimeout) || !isPositive(resetTimeout)) {
        throw invalid("call-timeout and reset-timeout must be positive");
      }
      if (maxResetTimeout.compareTo(resetTimeout) < 0) {
        throw invalid("max-reset-timeout must not be shorter than reset-timeout");
      }
      if (!(exponentialBackoff >= 1.0) || Double.isInfinite(exponentialBackoff)) {
        throw invalid("exponential-backoff must be at least 1.0, was " + exponentialBackoff);
      }
      if (!(randomFactor >= 0.0 && randomFactor <= 1.0)) {
        throw invalid("random-factor must be between 0 and 1, was " + randomFactor);
      }
    }

    static Settings fromConfig(Config config) {
      Config c = config.getConfig(CONFIG_KEY);
      return new Settings(
          c.getBoolean("enabled"),
          c.getInt("max-failures"),
          c.getDuration("call-timeout"),
          c.getDuration("reset-timeout"),
          c.getDuration("max-reset-timeout"),
          c.getDouble("exponential-backoff"),
          c.getDouble("random-factor"));
    }

    private static boolean isPositive(Duration d) {
      return !d.isNegative() && !d.isZero();
    }

    private static IllegalArgumentException invalid(String why) {
      return new IllegalArgumentException(CONFIG_KEY + ": " + why);
    }
  }

  /**
   * How one call that was sent ended: its outcome and the HTTP status, {@link #NO_ANSWER} if none.
   */
  record Answer(Outcome outcome, int status) {
    static final int NO_ANSWER = 0;

    /**
     * The call was withdrawn before it left this node (its saga stopped here): that says nothing
     * about the participant.
     */
    static final int WITHDRAWN = -1;
  }

  boolean enabled() {
    return settings.enabled();
  }

  /**
   * Whether an answer says the participant is unwell: a retryable outcome (5xx, 429, connection
   * errors, timeouts), except 408 and 425, which are about this one request. Successes, 2xx whose
   * body cannot be read (the participant applied the call) and rejections (4xx) say it works.
   */
  static boolean saysUnwell(Outcome outcome, int status) {
    return outcome instanceof Retryable
        && status != 408
        && status != 425
        && status != Answer.WITHDRAWN;
  }

  /**
   * Sends through the breaker of {@code participant}, or fails at once when it is open. {@code
   * call} names the call in the error of an attempt that was not sent; {@code mdc} is the saga's
   * keys of the MDC for the lines this call's answer makes the breaker log ({@link SagaMdc}).
   */
  CompletionStage<Outcome> call(
      String participant,
      String call,
      Map<String, String> mdc,
      Supplier<CompletionStage<Answer>> send,
      Executor callbacks) {
    Breaker breaker = breakers.computeIfAbsent(participant, name -> new Breaker(name));
    var sent = new AtomicReference<CompletionStage<Answer>>();
    var settled = new AtomicReference<CompletionStage<Void>>();
    CompletionStage<Answer> guarded =
        breaker.pekko.callWithCircuitBreakerCS(
            () -> {
              // Runs inside the breaker's state: half-open here means this is its trial call.
              settled.set(breaker.pekko.isHalfOpen() ? breaker.trialSettled : SETTLED);
              CompletionStage<Answer> s = send.get();
              sent.set(s);
              return s;
            },
            (answer, failure) -> breaker.isFailure(answer, failure, mdc));
    // The breaker runs the call at once when it lets it through; one not run was turned away.
    CompletionStage<Answer> own = sent.get();
    if (own != null) {
      // Not the breaker's future, which would fail at its call-timeout: the step's timeout rules.
      // A trial call answers only once the breaker has closed or opened again on it, so the saga
      // that sent it and the calls that follow see the breaker its answer left behind.
      return own.thenCombine(settled.get(), (answer, ignored) -> answer.outcome());
    }
    return guarded.handleAsync(
        (answer, failure) -> {
          if (answer != null) {
            return answer.outcome();
          }
          CircuitBreakerOpenException open = find(failure, CircuitBreakerOpenException.class);
          if (open != null) {
            return breaker.notSent(call, DurationConverters.toJava(open.remainingDuration()));
          }
          return Retryable.of(
              "participant call failed: " + participant + " " + call + ": " + failure);
        },
        callbacks);
  }

  private static <T extends Throwable> T find(Throwable failure, Class<T> type) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return type.cast(t);
      }
    }
    return null;
  }

  /** The breaker of one participant, with what a person needs to read its fast failures. */
  private final class Breaker {
    private final String participant;
    private final CircuitBreaker pekko;
    // The latest failure counted, quoted in the error of the attempts that were not sent.
    private volatile String lastFailure = "";
    // The saga keys of the latest call counted: a transition is logged as about the saga whose
    // answer made it (the breaker makes it on that answer's thread, right after counting it).
    private volatile Map<String, String> lastCall = Map.of();
    // Whether the breaker is half-open: its next opening follows a failed trial call.
    private volatile boolean trial;
    // Completed when the next trial call has closed or reopened the breaker; made when it opens.
    private volatile CompletableFuture<Void> trialSettled = CompletableFuture.completedFuture(null);
    // How many attempts this breaker has turned away, from a random start: the index of the next
    // one in the spread's sequence (spreadShare).
    private final AtomicLong turnedAway = new AtomicLong(ThreadLocalRandom.current().nextInt());

    Breaker(String participant) {
      this.participant = participant;
      // Transition listeners run on the thread that made the transition, once per transition.
      this.pekko =
          new CircuitBreaker(
                  scheduler,
                  settings.maxFailures(),
                  DurationConverters.toScala(settings.callTimeout()),
                  DurationConverters.toScala(settings.resetTimeout()),
                  DurationConverters.toScala(settings.maxResetTimeout()),
                  settings.exponentialBackoff(),
                  settings.randomFactor(),
                  ExecutionContexts.fromExecutor(Runnable::run))
              .addOnOpenListener(this::opened)
              .addOnHalfOpenListener(this::halfOpened)
              .addOnCloseListener(this::closed);
      gauge("closed", pekko::isClosed);
      gauge("open", pekko::isOpen);
      gauge("half_open", pekko::isHalfOpen);
    }

    private void gauge(String state, Supplier<Boolean> in) {
      Gauge.builder("sagaflow.participant.breaker.state", () -> in.get() ? 1 : 0)
          .description("1 for the state the participant's circuit breaker is in, 0 for the others")
          .tag("participant", participant)
          .tag("state", state)
          .register(meters);
    }

    boolean isFailure(
        Optional<Answer> answer, Optional<Throwable> failure, Map<String, String> mdc) {
      lastCall = mdc;
      if (failure.isPresent()) {
        lastFailure = String.valueOf(failure.get().getMessage());
        return true;
      }
      Answer a = answer.orElseThrow();
      if (saysUnwell(a.outcome(), a.status())) {
        lastFailure = ((Retryable) a.outcome()).error();
        return true;
      }
      return false;
    }

    /**
     * An attempt the open breaker did not send. Its retry-after hint is the breaker's remaining
     * reset time plus a share of one reset timeout ({@link #spreadShare}), so the sagas turned away
     * while it was open do not all come back at the instant it lets calls through again, and come
     * back evenly spread after it. Pekko 1.2.1 measures the remaining time against the reset
     * timeout after the current one, so with {@code exponential-backoff} above 1 it overstates the
     * wait, never understates it. Half-open (zero remaining, a trial call in flight) hints a share
     * of one reset timeout alone: the attempts turned away while the trial runs then come back
     * spread out once it has closed the breaker, instead of together at their steps' own backoff
     * (seen in the long chaos run: the sagas of one node at a 3 s maxBackoff returned within 0.6 s
     * of each other).
     */
    Retryable notSent(String call, Duration remaining) {
      String last = lastFailure.isEmpty() ? "" : " (last failure: " + lastFailure + ")";
      long spreadMillis = (long) (spreadShare() * settings.resetTimeout().toMillis());
      if (remaining.isZero() || remaining.isNegative()) {
        return Retryable.notSent(
            "not sent: the circuit breaker of participant '"
                + participant
                + "' is half-open, a trial call is checking whether it has recovered ("
                + participant
                + " "
                + call
                + ")"
                + last,
            Duration.ofMillis(spreadMillis));
      }
      return Retryable.notSent(
          "not sent: the circuit breaker of participant '"
              + participant
              + "' is open after repeated failures, next trial call in about "
              + HttpParticipantClient.human(Duration.ofMillis(remaining.toMillis()))
              + " ("
              + participant
              + " "
              + call
              + ")"
              + last,
          remaining.plusMillis(spreadMillis));
    }

    /**
     * The share of one reset timeout that the next attempt turned away waits beyond the breaker's
     * next trial: the golden-ratio (Weyl) sequence, which places every next share in the largest
     * gap the earlier ones left. The attempts turned away during one outage then come back evenly
     * spread over the reset timeout, where independent random shares clump (of 250 drawn over 10 s,
     * the busiest 100 ms holds about three times the mean: the chaos run's retry storm).
     */
    private double spreadShare() {
      double share = turnedAway.getAndIncrement() * GOLDEN_RATIO_SHARE;
      return share - Math.floor(share);
    }

    private void opened() {
      CompletableFuture<Void> ended = trialSettled;
      trialSettled = new CompletableFuture<>();
      ended.complete(null);
      try (var mdc = SagaMdc.open(lastCall)) {
        if (trial) {
          log.warn(
              "Circuit breaker of participant '{}' opened again: its trial call failed ({});"
                  + " calls fail fast until the next trial",
              participant,
              lastFailure);
        } else {
          log.warn(
              "Circuit breaker of participant '{}' opened after {} failures in a row (last: {});"
                  + " calls fail fast for {}",
              participant,
              settings.maxFailures(),
              lastFailure,
              HttpParticipantClient.human(settings.resetTimeout()));
        }
      }
      trial = false;
    }

    private void halfOpened() {
      trial = true;
      log.info(
          "Circuit breaker of participant '{}' is half-open: the next call goes through as a trial",
          participant);
    }

    private void closed() {
      trialSettled.complete(null);
      trial = false;
      lastFailure = "";
      try (var mdc = SagaMdc.open(lastCall)) {
        log.info(
            "Circuit breaker of participant '{}' closed: its trial call succeeded", participant);
      }
    }
  }
}
