package io.sagaflow.orchestrator.telemetry;

import io.sagaflow.orchestrator.history.Phase;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import io.sagaflow.orchestrator.internal.Fingerprint;
import java.time.Duration;
import java.util.List;

/**
 * What a saga tells the node's metrics and traces as it goes: every event it has written, every
 * attempt it makes and how that ended, and every duplicate it absorbs. Called on the saga's own
 * thread, so an implementation must be quick and must not block; it never changes what the saga
 * does. The default does nothing.
 */
public interface SagaTelemetry {

  /** Tells nothing to anyone. */
  SagaTelemetry NONE = new SagaTelemetry() {};

  /**
   * Saga {@code sagaId} of type {@code sagaType} is about to be written as started, by a request
   * that carried the W3C {@code traceparent} {@code requestTraceparent} (null for none): the trace
   * its attempts join, kept with the saga so that it outlives the node. The default continues the
   * request's trace with the request's span as parent, or makes a new trace id with no parent when
   * the request carried no valid trace context.
   */
  default Trace startTrace(String sagaId, String sagaType, String requestTraceparent) {
    return TraceParent.parse(requestTraceparent)
        .map(parent -> new Trace(parent.traceId(), parent.spanId()))
        .orElseGet(() -> new Trace(Fingerprint.newTraceId(), null));
  }

  /**
   * Saga {@code sagaId} has written {@code event} (the journal confirmed it) and is now {@code
   * after}. Never called for events replayed while a saga recovers.
   */
  default void eventWritten(String sagaId, SagaEvent event, SagaSnapshot after) {}

  /**
   * An attempt of a step or compensation is about to be invoked. The answer is told how it ended,
   * at most once; an attempt still out when its saga stops (a crash, a hand-over) is never told.
   */
  default Attempt attemptStarted(AttemptStart start) {
    return Attempt.untraced(start);
  }

  /**
   * A retry of {@code step} is scheduled {@code delay} from now; {@code retryAfter} when its delay
   * is the one the participant asked for in {@code Retry-After} (or longer).
   */
  default void retryScheduled(
      String sagaType, Phase phase, String step, Duration delay, boolean retryAfter) {}

  /** A request that was already handled got the first answer again, or a reply was ignored. */
  default void duplicate(Duplicate kind, String sagaType) {}

  /** Sends to several at once, in order. */
  static SagaTelemetry of(List<SagaTelemetry> all) {
    List<SagaTelemetry> copy = List.copyOf(all);
    if (copy.isEmpty()) {
      return NONE;
    }
    if (copy.size() == 1) {
      return copy.get(0);
    }
    return new CompositeTelemetry(copy);
  }

  /**
   * A saga's trace: {@code traceId} (32 hex digits) and the span its attempts are children of
   * ({@code parentSpanId}, 16 hex digits, or null for none).
   */
  record Trace(String traceId, String parentSpanId) {}

  /** The kinds of duplicate the design absorbs. */
  enum Duplicate {
    /** A start whose saga id already ran with the same type and input: answered as a replay. */
    START,
    /** A cancel or retry whose command id was already handled: answered as the first time. */
    OPERATOR_COMMAND,
    /** A participant answered with {@code Idempotent-Replayed}: it had applied the key before. */
    PARTICIPANT_REPLAY,
    /** A reply (or timeout) of an attempt that is no longer current: ignored. */
    STALE_REPLY;

    /** Its label value, in Prometheus' style. */
    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * One attempt about to be invoked. {@code participant} is the HTTP participant's name, or "local"
   * for a local step. {@code traceId} (32 hex digits) is the saga's trace; {@code parentSpanId} (16
   * hex digits) the span its attempts are children of ({@link #startTrace}), or null.
   */
  record AttemptStart(
      String sagaId,
      String sagaType,
      Phase phase,
      String step,
      int attempt,
      String participant,
      String traceId,
      String parentSpanId) {}

  /** How an attempt ended, as its saga classified the answer. */
  enum AttemptOutcome {
    SUCCESS,
    /** Failed in a way worth another attempt (5xx, 429, connect error, retryable exception). */
    RETRYABLE,
    /** Refused for good (4xx, a rejection): nothing applied. */
    REJECTED,
    /** No answer within the step's timeout. */
    TIMEOUT,
    /** Applied, but its answer cannot be read (or a local step was still running). */
    UNCERTAIN;

    /** Its label value, in Prometheus' style. */
    public String label() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /**
   * How one attempt ended. {@code error} says what failed (null on success); {@code replayed} when
   * the participant said it had answered this key before; {@code retryAfter} when it asked to be
   * called again no sooner than that.
   */
  record AttemptEnd(AttemptOutcome outcome, String error, boolean replayed, Duration retryAfter) {}

  /** An attempt in progress. */
  interface Attempt {

    /**
     * The W3C {@code traceparent} the participant call carries: this attempt's span in the saga's
     * trace.
     */
    String traceparent();

    /** The attempt ended; called at most once. */
    void ended(AttemptEnd end);

    /**
     * An attempt nobody traces: its {@code traceparent} names the saga's trace and a span id of its
     * own, so that a participant can still tie its logs to the saga.
     */
    static Attempt untraced(AttemptStart start) {
      String traceparent = "00-" + start.traceId() + "-" + Fingerprint.newSpanId() + "-01";
      return new Attempt() {
        @Override
        public String traceparent() {
          return traceparent;
        }

        @Override
        public void ended(AttemptEnd end) {}
      };
    }
  }
}
