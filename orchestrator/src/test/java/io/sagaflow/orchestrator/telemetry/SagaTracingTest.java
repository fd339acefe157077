package io.sagaflow.orchestrator.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.sagaflow.orchestrator.history.Phase;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry.AttemptEnd;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry.AttemptOutcome;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry.AttemptStart;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry.Trace;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The spans {@link SagaTracing} makes, exported to memory as they end. */
class SagaTracingTest {
  private static final String REQUEST_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String REQUEST_SPAN = "00f067aa0ba902b7";
  private static final String REQUEST = "00-" + REQUEST_TRACE + "-" + REQUEST_SPAN + "-01";

  private final InMemorySpanExporter exporter = InMemorySpanExporter.create();
  private final OpenTelemetrySdk sdk =
      OpenTelemetrySdk.builder()
          .setTracerProvider(
              SdkTracerProvider.builder()
                  .addSpanProcessor(SimpleSpanProcessor.create(exporter))
                  .build())
          .build();
  private final SagaTracing tracing = new SagaTracing(sdk);

  @AfterEach
  void close() {
    sdk.close();
  }

  private static SagaEvent.SagaStarted started(Trace trace) {
    return new SagaEvent.SagaStarted(
        "order",
        1,
        JsonNodeFactory.instance.objectNode(),
        "fingerprint",
        trace.traceId(),
        trace.parentSpanId(),
        "reserve",
        null,
        Instant.now());
  }

  private static AttemptStart attempt(Trace trace, Phase phase, String participant, int n) {
    return new AttemptStart(
        "o-1", "order", phase, "reserve", n, participant, trace.traceId(), trace.parentSpanId());
  }

  private SpanData only(String name) {
    return exporter.getFinishedSpanItems().stream()
        .filter(s -> s.getName().equals(name))
        .reduce(
            (a, b) -> {
              throw new AssertionError("more than one span named " + name);
            })
        .orElseThrow(() -> new AssertionError("no span named " + name));
  }

  @Test
  void startIsAChildOfTheRequestsSpanAndEndsWhenSagaStartedIsWritten() {
    Trace trace = tracing.startTrace("o-1", "order", REQUEST);

    assertThat(trace.traceId()).isEqualTo(REQUEST_TRACE);
    assertThat(trace.parentSpanId()).matches("[0-9a-f]{16}").isNotEqualTo(REQUEST_SPAN);
    assertThat(exporter.getFinishedSpanItems()).isEmpty();

    tracing.eventWritten("o-1", started(trace), null);

    SpanData start = only("saga.start order");
    assertThat(start.getTraceId()).isEqualTo(REQUEST_TRACE);
    assertThat(start.getSpanId()).isEqualTo(trace.parentSpanId());
    assertThat(start.getParentSpanId()).isEqualTo(REQUEST_SPAN);
    assertThat(start.getAttributes().get(SagaTracing.SAGA_ID)).isEqualTo("o-1");
    assertThat(start.getAttributes().get(SagaTracing.SAGA_TYPE)).isEqualTo("order");
  }

  @Test
  void startWithoutAValidTraceparentIsTheRootOfANewTrace() {
    for (String header :
        new String[] {
          null, "", "not-a-traceparent", "00-" + "0".repeat(32) + "-" + REQUEST_SPAN + "-01"
        }) {
      exporter.reset();
      Trace trace = tracing.startTrace("o-1", "order", header);
      tracing.eventWritten("o-1", started(trace), null);

      SpanData start = only("saga.start order");
      assertThat(trace.traceId()).matches("[0-9a-f]{32}").isNotEqualTo(REQUEST_TRACE);
      assertThat(start.getTraceId()).isEqualTo(trace.traceId());
      assertThat(start.getParentSpanContext().isValid()).as(header).isFalse();
    }
  }

  @Test
  void anAttemptIsASpanChildOfTheStartWhoseTraceparentTheParticipantGets() {
    Trace trace = tracing.startTrace("o-1", "order", REQUEST);
    tracing.eventWritten("o-1", started(trace), null);

    var attempt = tracing.attemptStarted(attempt(trace, Phase.FORWARD, "inventory", 2));
    assertThat(exporter.getFinishedSpanItems()).hasSize(1);
    attempt.ended(new AttemptEnd(AttemptOutcome.SUCCESS, null, true, null));

    SpanData span = only("saga.step reserve");
    assertThat(span.getKind()).isEqualTo(SpanKind.CLIENT);
    assertThat(span.getTraceId()).isEqualTo(REQUEST_TRACE);
    assertThat(span.getParentSpanId()).isEqualTo(trace.parentSpanId());
    assertThat(attempt.traceparent())
        .isEqualTo("00-" + REQUEST_TRACE + "-" + span.getSpanId() + "-01");
    assertThat(span.getStatus().getStatusCode()).isEqualTo(StatusCode.UNSET);
    var attributes = span.getAttributes();
    assertThat(attributes.get(SagaTracing.SAGA_ID)).isEqualTo("o-1");
    assertThat(attributes.get(SagaTracing.SAGA_TYPE)).isEqualTo("order");
    assertThat(attributes.get(SagaTracing.STEP)).isEqualTo("reserve");
    assertThat(attributes.get(SagaTracing.PHASE)).isEqualTo("forward");
    assertThat(attributes.get(SagaTracing.ATTEMPT)).isEqualTo(2L);
    assertThat(attributes.get(SagaTracing.PARTICIPANT)).isEqualTo("inventory");
    assertThat(attributes.get(SagaTracing.OUTCOME)).isEqualTo("success");
    assertThat(attributes.get(SagaTracing.REPLAYED)).isTrue();
  }

  @Test
  void everyAttemptIsASpanOfItsOwnAndAFailedOneIsAnErrorWithWhatFailed() {
    Trace trace = tracing.startTrace("o-1", "order", null);
    tracing.eventWritten("o-1", started(trace), null);

    var first = tracing.attemptStarted(attempt(trace, Phase.COMPENSATION, "local", 1));
    first.ended(new AttemptEnd(AttemptOutcome.RETRYABLE, "undo failed: disk full", false, null));
    var second = tracing.attemptStarted(attempt(trace, Phase.COMPENSATION, "local", 2));
    second.ended(new AttemptEnd(AttemptOutcome.TIMEOUT, null, false, null));

    var spans =
        exporter.getFinishedSpanItems().stream()
            .filter(s -> s.getName().equals("saga.compensation reserve"))
            .toList();
    assertThat(spans).hasSize(2);
    assertThat(spans).extracting(SpanData::getKind).containsOnly(SpanKind.INTERNAL);
    assertThat(spans).extracting(SpanData::getParentSpanId).containsOnly(trace.parentSpanId());
    assertThat(spans.get(0).getSpanId()).isNotEqualTo(spans.get(1).getSpanId());
    assertThat(first.traceparent()).contains(spans.get(0).getSpanId());
    assertThat(second.traceparent()).contains(spans.get(1).getSpanId());
    assertThat(spans.get(0).getStatus().getStatusCode()).isEqualTo(StatusCode.ERROR);
    assertThat(spans.get(0).getStatus().getDescription()).isEqualTo("undo failed: disk full");
    assertThat(spans.get(0).getAttributes().get(SagaTracing.PHASE)).isEqualTo("compensation");
    assertThat(spans.get(0).getAttributes().get(SagaTracing.OUTCOME)).isEqualTo("retryable");
    assertThat(spans.get(1).getStatus().getDescription()).isEqualTo("timeout");
  }

  @Test
  void attemptsOfASagaWrittenWithoutAParentSpanShareOneParentInItsTrace() {
    Trace old = new Trace(REQUEST_TRACE, null);

    tracing
        .attemptStarted(attempt(old, Phase.FORWARD, "inventory", 1))
        .ended(new AttemptEnd(AttemptOutcome.RETRYABLE, "503", false, null));
    tracing
        .attemptStarted(attempt(old, Phase.FORWARD, "inventory", 2))
        .ended(new AttemptEnd(AttemptOutcome.SUCCESS, null, false, null));

    var spans = exporter.getFinishedSpanItems();
    assertThat(spans).hasSize(2);
    assertThat(spans).extracting(SpanData::getTraceId).containsOnly(REQUEST_TRACE);
    assertThat(spans.get(0).getParentSpanId())
        .matches("[0-9a-f]{16}")
        .isEqualTo(spans.get(1).getParentSpanId());
  }

  @Test
  void aTracerThatMakesNoSpansStillGivesEverySagaATraceAndEveryAttemptATraceparent() {
    var noop = new SagaTracing(OpenTelemetry.noop());

    Trace trace = noop.startTrace("o-1", "order", null);
    var attempt = noop.attemptStarted(attempt(trace, Phase.FORWARD, "inventory", 1));

    assertThat(trace.traceId()).matches("[0-9a-f]{32}").isNotEqualTo("0".repeat(32));
    assertThat(TraceParent.parse(attempt.traceparent()))
        .hasValueSatisfying(p -> assertThat(p.traceId()).isEqualTo(trace.traceId()));
  }
}
