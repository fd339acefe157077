package io.sagaflow.orchestrator.telemetry;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.sagaflow.orchestrator.history.Phase;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Traces sagas with OpenTelemetry. A saga's start is a span ({@code saga.start <type>}), the child
 * of the starting request's span when the request carried a {@code traceparent}, a new trace's root
 * otherwise; every attempt of a step or compensation is a span of its own ({@code saga.step <step>}
 * or {@code saga.compensation <step>}), the child of the start span, and the participant call
 * carries that span as its {@code traceparent}. The start span's ids are written with the saga
 * ({@code SagaStarted}), so a saga recovered on another node, days later, still adds its attempts
 * to the same trace.
 *
 * <p>Every saga is recorded in full: its attempts are children of a parent marked sampled, whatever
 * the caller had decided for its request, because the attempts of a saga that outlives its request
 * cannot know what was decided when it started.
 */
public final class SagaTracing implements SagaTelemetry {

  /** The instrumentation scope of every span Sagaflow makes. */
  public static final String SCOPE = "io.sagaflow";

  static final AttributeKey<String> SAGA_ID = AttributeKey.stringKey("saga.id");
  static final AttributeKey<String> SAGA_TYPE = AttributeKey.stringKey("saga.type");
  static final AttributeKey<String> STEP = AttributeKey.stringKey("saga.step");
  static final AttributeKey<String> PHASE = AttributeKey.stringKey("saga.phase");
  static final AttributeKey<Long> ATTEMPT = AttributeKey.longKey("saga.attempt");
  static final AttributeKey<String> PARTICIPANT = AttributeKey.stringKey("saga.participant");
  static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("saga.outcome");
  static final AttributeKey<Boolean> REPLAYED = AttributeKey.booleanKey("saga.replayed");

  private static final String TRACEPARENT = "traceparent";
  private static final W3CTraceContextPropagator W3C = W3CTraceContextPropagator.getInstance();

  private final Tracer tracer;

  /** Start spans of sagas whose {@code SagaStarted} is not written yet, by saga id. */
  private final Map<String, Span> starting = new ConcurrentHashMap<>();

  public SagaTracing(OpenTelemetry openTelemetry) {
    this.tracer = openTelemetry.getTracer(SCOPE);
  }

  @Override
  public Trace startTrace(String sagaId, String sagaType, String requestTraceparent) {
    SpanContext request = Span.fromContext(extract(requestTraceparent)).getSpanContext();
    Context parent =
        request.isValid()
            ? Context.root().with(Span.wrap(sampled(request.getTraceId(), request.getSpanId())))
            : Context.root();
    Span span =
        tracer
            .spanBuilder("saga.start " + sagaType)
            .setParent(parent)
            .setSpanKind(SpanKind.INTERNAL)
            .setAttribute(SAGA_ID, sagaId)
            .setAttribute(SAGA_TYPE, sagaType)
            .startSpan();
    SpanContext context = span.getSpanContext();
    if (!context.isValid()) {
      // A tracer that makes no spans (a no-op OpenTelemetry): the saga still needs a trace id.
      return SagaTelemetry.super.startTrace(sagaId, sagaType, requestTraceparent);
    }
    Span unwritten = starting.put(sagaId, span);
    if (unwritten != null) {
      // An earlier start of this saga whose SagaStarted was never written (its write failed).
      unwritten.setStatus(StatusCode.ERROR, "the start was not written");
      unwritten.end();
    }
    return new Trace(context.getTraceId(), context.getSpanId());
  }

  @Override
  public void eventWritten(String sagaId, SagaEvent event, SagaSnapshot after) {
    if (event instanceof SagaEvent.SagaStarted) {
      Span span = starting.remove(sagaId);
      if (span != null) {
        span.end();
      }
    }
  }

  @Override
  public Attempt attemptStarted(AttemptStart start) {
    boolean local = start.participant().equals("local");
    String kind = start.phase() == Phase.FORWARD ? "saga.step " : "saga.compensation ";
    Span span =
        tracer
            .spanBuilder(kind + start.step())
            .setParent(Context.root().with(Span.wrap(parentOf(start))))
            .setSpanKind(local ? SpanKind.INTERNAL : SpanKind.CLIENT)
            .setAttribute(SAGA_ID, start.sagaId())
            .setAttribute(SAGA_TYPE, start.sagaType())
            .setAttribute(STEP, start.step())
            .setAttribute(PHASE, start.phase() == Phase.FORWARD ? "forward" : "compensation")
            .setAttribute(ATTEMPT, (long) start.attempt())
            .setAttribute(PARTICIPANT, start.participant())
            .startSpan();
    String traceparent = traceparentOf(span);
    return traceparent != null ? new TracedAttempt(span, traceparent) : Attempt.untraced(start);
  }

  /**
   * The span an attempt is the child of: the saga's start span. A saga written without one (before
   * the node traced) has only its trace id; its attempts then share a parent id made from it, so
   * that they still hang together in one trace.
   */
  private static SpanContext parentOf(AttemptStart start) {
    String spanId = start.parentSpanId();
    if (spanId == null) {
      String traceId = start.traceId();
      String low = traceId.substring(16);
      spanId = low.chars().allMatch(c -> c == '0') ? traceId.substring(0, 16) : low;
    }
    return sampled(start.traceId(), spanId);
  }

  private static SpanContext sampled(String traceId, String spanId) {
    return SpanContext.createFromRemoteParent(
        traceId, spanId, TraceFlags.getSampled(), TraceState.getDefault());
  }

  private static Context extract(String traceparent) {
    if (traceparent == null) {
      return Context.root();
    }
    return W3C.extract(Context.root(), traceparent, HEADER);
  }

  private static String traceparentOf(Span span) {
    var carrier = new String[1];
    W3C.inject(
        Context.root().with(span),
        carrier,
        (TextMapSetter<String[]>)
            (c, key, value) -> {
              if (TRACEPARENT.equals(key)) {
                c[0] = value;
              }
            });
    return carrier[0];
  }

  /** The one header a start carries, {@code traceparent}. */
  private static final TextMapGetter<String> HEADER =
      new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(String carrier) {
          return List.of(TRACEPARENT);
        }

        @Override
        public String get(String carrier, String key) {
          return TRACEPARENT.equals(key) ? carrier : null;
        }
      };

  private record TracedAttempt(Span span, String traceparent) implements Attempt {
    @Override
    public void ended(AttemptEnd end) {
      span.setAttribute(OUTCOME, end.outcome().label());
      if (end.replayed()) {
        span.setAttribute(REPLAYED, true);
      }
      if (end.outcome() != AttemptOutcome.SUCCESS) {
        span.setStatus(StatusCode.ERROR, end.error() != null ? end.error() : end.outcome().label());
      }
      span.end();
    }
  }
}
