package io.sagaflow.node;

import static io.sagaflow.api.ApiFixture.orderInput;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.opentelemetry.proto.trace.v1.Span.SpanKind;
import io.opentelemetry.proto.trace.v1.Status.StatusCode;
import io.sagaflow.api.ApiFixture;
import io.sagaflow.node.OtlpReceiver.ReceivedSpan;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.telemetry.TraceParent;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.testing.TestDatabase;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Traces of real sagas, exported by a real node over OTLP/HTTP to a receiver that decodes them,
 * checked against the {@code traceparent} every participant call carried.
 */
class TracingIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String REQUEST_TRACE = "0af7651916cd43dd8448eb211c80319c";
  private static final String REQUEST_SPAN = "b7ad6b7169203331";
  private static final String REQUEST = "00-" + REQUEST_TRACE + "-" + REQUEST_SPAN + "-01";

  private static OtlpReceiver receiver;
  private static ApiFixture api;

  @BeforeAll
  static void start() {
    receiver = OtlpReceiver.start();
    api = ApiFixture.start(Map.of(), otel(receiver, "50"));
  }

  @AfterAll
  static void stop() {
    if (api != null) {
      api.close();
    }
    receiver.close();
  }

  /** The variables that point a node at {@code receiver}, exporting every {@code delayMs}. */
  private static Map<String, String> otel(OtlpReceiver receiver, String delayMs) {
    return Map.of(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        receiver.endpoint(),
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "http/protobuf",
        "OTEL_SERVICE_NAME",
        "sagaflow-test",
        "OTEL_BSP_SCHEDULE_DELAY",
        delayMs);
  }

  private static String startBody(String id) {
    return "{\"type\":\"order\",\"id\":\"" + id + "\",\"input\":" + orderInput(id) + "}";
  }

  private static TraceParent traceparent(StubParticipant.Call call) {
    return TraceParent.parse(call.header("traceparent").orElse(null))
        .orElseThrow(() -> new AssertionError("no valid traceparent on " + call));
  }

  private static boolean isAttempt(ReceivedSpan span) {
    return span.name().startsWith("saga.step ") || span.name().startsWith("saga.compensation ");
  }

  private static boolean ofSaga(ReceivedSpan span, String sagaId) {
    return sagaId.equals(span.attribute("saga.id"));
  }

  @Test
  void everyCallOfASagaStartedWithATraceparentIsInItsTraceUnderASpanPerAttempt() {
    api.stub.on("/t1/charge").failTimes(1, 503);
    api.stub.on("/t1/ship").alwaysStatus(422);

    var created = api.postJson("/v1/sagas", startBody("t1"), "traceparent", REQUEST);
    assertThat(created.statusCode()).isEqualTo(201);
    api.awaitStatus("t1", "COMPENSATED");

    List<StubParticipant.Call> calls = api.stub.calls("/t1/*");
    assertThat(calls)
        .extracting(StubParticipant.Call::path)
        .containsExactly(
            "/t1/reserve", "/t1/charge", "/t1/charge", "/t1/ship", "/t1/refund", "/t1/release");
    // Six attempts and the start.
    List<ReceivedSpan> spans = receiver.awaitSpans(s -> ofSaga(s, "t1"), 7, WAIT);
    assertThat(spans).hasSize(7);
    assertThat(spans).extracting(ReceivedSpan::traceId).containsOnly(REQUEST_TRACE);
    assertThat(spans).extracting(ReceivedSpan::service).containsOnly("sagaflow-test");

    ReceivedSpan start =
        spans.stream().filter(s -> s.name().equals("saga.start order")).findFirst().orElseThrow();
    assertThat(start.parentSpanId()).isEqualTo(REQUEST_SPAN);
    List<ReceivedSpan> attempts = spans.stream().filter(TracingIT::isAttempt).toList();
    assertThat(attempts).hasSameSizeAs(calls);
    assertThat(attempts).extracting(ReceivedSpan::parentSpanId).containsOnly(start.spanId());
    assertThat(attempts).extracting(ReceivedSpan::kind).containsOnly(SpanKind.SPAN_KIND_CLIENT);
    assertThat(attempts)
        .extracting(ReceivedSpan::name)
        .containsExactlyInAnyOrder(
            "saga.step reserve",
            "saga.step charge",
            "saga.step charge",
            "saga.step ship",
            "saga.compensation charge",
            "saga.compensation reserve");

    var parents = new HashSet<String>();
    for (StubParticipant.Call call : calls) {
      TraceParent parent = traceparent(call);
      assertThat(parent.traceId()).as(call.path()).isEqualTo(REQUEST_TRACE);
      parents.add(parent.spanId());
      List<ReceivedSpan> own =
          attempts.stream().filter(s -> s.spanId().equals(parent.spanId())).toList();
      assertThat(own).as("the span of " + call.path()).hasSize(1);
      ReceivedSpan span = own.get(0);
      assertThat(span.attribute("saga.step")).isEqualTo(call.header("Saga-Step").orElseThrow());
      assertThat(span.attribute("saga.attempt"))
          .isEqualTo(call.header("Saga-Attempt").orElseThrow());
      assertThat(span.attribute("saga.phase"))
          .isEqualTo(
              call.path().endsWith("/refund") || call.path().endsWith("/release")
                  ? "compensation"
                  : "forward");
      assertThat(span.attribute("saga.participant")).isEqualTo("payments");
    }
    assertThat(parents).hasSameSizeAs(calls);

    assertThat(outcome(attempts, "saga.step charge", "1")).isEqualTo("retryable");
    assertThat(status(attempts, "saga.step charge", "1")).isEqualTo(StatusCode.STATUS_CODE_ERROR);
    assertThat(outcome(attempts, "saga.step charge", "2")).isEqualTo("success");
    assertThat(status(attempts, "saga.step charge", "2")).isEqualTo(StatusCode.STATUS_CODE_UNSET);
    assertThat(outcome(attempts, "saga.step ship", "1")).isEqualTo("rejected");
    assertThat(span(attempts, "saga.step ship", "1").statusMessage()).contains("422");
    assertThat(outcome(attempts, "saga.compensation charge", "1")).isEqualTo("success");
  }

  @Test
  void aSagaStartedWithoutAValidTraceparentGetsANewTraceOfItsOwn() {
    var plain = api.postJson("/v1/sagas", startBody("t2"));
    var malformed = api.postJson("/v1/sagas", startBody("t3"), "traceparent", "00-not-a-trace-01");
    assertThat(plain.statusCode()).isEqualTo(201);
    assertThat(malformed.statusCode()).isEqualTo(201);
    api.awaitStatus("t2", "COMPLETED");
    api.awaitStatus("t3", "COMPLETED");

    var traces = new HashSet<String>();
    for (String saga : List.of("t2", "t3")) {
      List<StubParticipant.Call> calls = api.stub.calls("/" + saga + "/*");
      assertThat(calls).hasSize(3);
      String trace = traceparent(calls.get(0)).traceId();
      assertThat(calls).extracting(c -> traceparent(c).traceId()).containsOnly(trace);
      assertThat(trace).isNotEqualTo(REQUEST_TRACE);
      traces.add(trace);

      List<ReceivedSpan> spans = receiver.awaitSpans(s -> ofSaga(s, saga), 4, WAIT);
      assertThat(spans).extracting(ReceivedSpan::traceId).containsOnly(trace);
      ReceivedSpan start =
          spans.stream().filter(s -> s.name().equals("saga.start order")).findFirst().orElseThrow();
      assertThat(start.parentSpanId()).as("a new trace's root").isEmpty();
      assertThat(calls)
          .extracting(c -> traceparent(c).spanId())
          .allSatisfy(id -> assertThat(spans).filteredOn(s -> s.spanId().equals(id)).hasSize(1));
    }
    assertThat(traces).hasSize(2);
  }

  @Test
  void aNodeWithTracesDisabledExportsNothing() {
    try (var silent = OtlpReceiver.start()) {
      var env = new HashMap<>(otel(silent, "50"));
      env.put("OTEL_SDK_DISABLED", "true");
      var off = ApiFixture.start(Map.of(), env);
      try {
        assertThat(off.node.tracesExported()).isFalse();
        off.postJson("/v1/sagas", startBody("off-1"), "traceparent", REQUEST);
        off.awaitStatus("off-1", "COMPLETED");
        // Participants still get the saga's trace context, for their own logs.
        assertThat(off.stub.calls("/off-1/*"))
            .hasSize(3)
            .allSatisfy(c -> assertThat(traceparent(c).traceId()).isEqualTo(REQUEST_TRACE));
      } finally {
        off.close(); // a node that traced would have flushed its spans by now
      }
      assertThat(silent.requests()).isZero();
    }
  }

  private static final SagaDefinition<?> TRANSFER =
      SagaDefinition.builder("transfer")
          .defaultRetry(
              r -> r.minBackoff(Duration.ofMillis(100)).maxBackoff(Duration.ofMillis(100)))
          .defaultTimeout(Duration.ofSeconds(20))
          .step(
              Step.named("debit")
                  .invoke(HttpCall.post("payments", "/debit").withBody(ctx -> ctx.input()))
                  .noCompensation())
          .step(
              Step.named("credit")
                  .invoke(HttpCall.post("payments", "/credit").withBody(ctx -> ctx.input()))
                  .noCompensation())
          .build();

  @Test
  void aSagaRecoveredOnANewNodeContinuesItsTraceAndEachNodeFlushesItsSpansWhenItStops() {
    TestDatabase db = TestDatabase.fresh();
    var env = new HashMap<>(TestNodes.env(db));
    try (var stub = StubParticipant.start();
        var own = OtlpReceiver.start()) {
      // Spans leave a node only when it stops: nothing is exported on the way.
      env.putAll(otel(own, "600000"));
      stub.on("/debit").delay(Duration.ofSeconds(2));
      SagaflowNode first =
          SagaflowNode.start(TestNodes.config(stub.baseUrl()), env, List.of(TRANSFER));
      try {
        assertThat(first.tracesExported()).isTrue();
        first
            .engine()
            .start(
                "r-1",
                "transfer",
                null,
                new ObjectMapper().createObjectNode().put("amount", 5),
                REQUEST)
            .toCompletableFuture()
            .join();
        stub.awaitCalls("/debit", 1, WAIT);
      } finally {
        first.close();
      }
      List<ReceivedSpan> flushed = own.spans();
      ReceivedSpan start =
          flushed.stream()
              .filter(s -> s.name().equals("saga.start transfer") && ofSaga(s, "r-1"))
              .findFirst()
              .orElseThrow(() -> new AssertionError("not flushed at stop: " + flushed));
      assertThat(start.traceId()).isEqualTo(REQUEST_TRACE);
      assertThat(start.parentSpanId()).isEqualTo(REQUEST_SPAN);

      SagaflowNode second =
          SagaflowNode.start(TestNodes.config(stub.baseUrl()), env, List.of(TRANSFER));
      try {
        TestNodes.awaitStatus(second, "r-1", SagaStatus.COMPLETED, WAIT);
      } finally {
        second.close();
      }
      StubParticipant.Call credit = stub.calls("/credit").get(0);
      TraceParent parent = traceparent(credit);
      assertThat(parent.traceId()).isEqualTo(REQUEST_TRACE);
      assertThat(stub.calls())
          .allSatisfy(c -> assertThat(traceparent(c).traceId()).isEqualTo(REQUEST_TRACE));
      ReceivedSpan creditSpan =
          own.spans().stream()
              .filter(s -> s.spanId().equals(parent.spanId()))
              .findFirst()
              .orElseThrow(() -> new AssertionError("the credit attempt's span was not flushed"));
      assertThat(creditSpan.name()).isEqualTo("saga.step credit");
      assertThat(creditSpan.traceId()).isEqualTo(REQUEST_TRACE);
      assertThat(creditSpan.parentSpanId()).isEqualTo(start.spanId());
    }
  }

  private static ReceivedSpan span(List<ReceivedSpan> spans, String name, String attempt) {
    return spans.stream()
        .filter(s -> s.name().equals(name) && attempt.equals(s.attribute("saga.attempt")))
        .findFirst()
        .orElseThrow(() -> new AssertionError("no span " + name + " #" + attempt));
  }

  private static String outcome(List<ReceivedSpan> spans, String name, String attempt) {
    return span(spans, name, attempt).attribute("saga.outcome");
  }

  private static StatusCode status(List<ReceivedSpan> spans, String name, String attempt) {
    return span(spans, name, attempt).status();
  }
}
