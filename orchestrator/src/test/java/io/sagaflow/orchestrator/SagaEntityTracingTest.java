package io.sagaflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.typesafe.config.ConfigFactory;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.sagaflow.orchestrator.SagaReplies.StartReply;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import io.sagaflow.orchestrator.internal.ParticipantClient;
import io.sagaflow.orchestrator.internal.StepRunner;
import io.sagaflow.orchestrator.telemetry.SagaTracing;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.ScriptedSteps;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** A saga entity traced by {@link SagaTracing}: what it writes, and what its steps see. */
class SagaEntityTracingTest {
  private static final Duration WAIT = Duration.ofSeconds(10);
  private static final String REQUEST_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String REQUEST_SPAN = "00f067aa0ba902b7";

  private static final ActorTestKit testKit =
      ActorTestKit.create(
          EventSourcedBehaviorTestKit.config()
              .withFallback(ConfigFactory.parseString("pekko.loglevel = INFO"))
              .withFallback(ConfigFactory.load()));
  private static final PersistenceTestKit journal = PersistenceTestKit.create(testKit.system());
  private static final ExecutorService LOCAL_STEPS = Executors.newFixedThreadPool(2);

  private final InMemorySpanExporter exporter = InMemorySpanExporter.create();
  private final OpenTelemetrySdk sdk =
      OpenTelemetrySdk.builder()
          .setTracerProvider(
              SdkTracerProvider.builder()
                  .addSpanProcessor(SimpleSpanProcessor.create(exporter))
                  .build())
          .build();
  private final String sagaId = "saga-" + UUID.randomUUID();
  private final ScriptedSteps script = new ScriptedSteps();

  /** What {@code Span.current()} named while each local function ran. */
  private final List<SpanContext> seen = new CopyOnWriteArrayList<>();

  private final SagaDefinition<?> twoSteps =
      SagaDefinition.builder("two")
          .defaultTimeout(Duration.ofSeconds(30))
          .step(
              Step.named("look")
                  .invoke(
                      LocalCall.of(
                          ctx -> {
                            seen.add(Span.current().getSpanContext());
                            return Map.of("ok", true);
                          }))
                  .noCompensation())
          .step(Step.named("hold").invoke(script.action("hold")).noCompensation())
          .build();

  @AfterEach
  void close() {
    sdk.close();
    journal.clearAll();
  }

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
    LOCAL_STEPS.shutdownNow();
  }

  private EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> entity() {
    ParticipantClient noHttp =
        request -> CompletableFuture.failedFuture(new AssertionError("no HTTP in this test"));
    var runner = new StepRunner(noHttp, SagaEngine.objectMapper(testKit.system()), LOCAL_STEPS);
    return EventSourcedBehaviorTestKit.create(
        testKit.system(),
        SagaEntity.create(
            sagaId,
            null,
            SagaRegistry.of(twoSteps),
            runner,
            Clock.systemUTC(),
            new SagaTracing(sdk)),
        new EventSourcedBehaviorTestKit.SerializationSettings(true, true, true, true, true));
  }

  private List<SpanData> spansNamed(String name) {
    return exporter.getFinishedSpanItems().stream().filter(s -> s.getName().equals(name)).toList();
  }

  @Test
  void theStartSpanIsWrittenWithTheSagaAndALocalStepSeesItsAttemptSpanAsCurrent() {
    var kit = entity();
    var result =
        kit.<StartReply>runCommand(
            replyTo ->
                new SagaEntity.Start(
                    "two",
                    null,
                    JsonNodeFactory.instance.objectNode(),
                    "00-" + REQUEST_TRACE + "-" + REQUEST_SPAN + "-01",
                    replyTo));
    var started = (SagaEvent.SagaStarted) result.event();
    script.awaitAction("hold", 1);

    SpanData start = spansNamed("saga.start two").get(0);
    assertThat(start.getParentSpanId()).isEqualTo(REQUEST_SPAN);
    assertThat(started.traceId()).isEqualTo(REQUEST_TRACE);
    assertThat(started.parentSpanId()).isEqualTo(start.getSpanId());
    SpanData look = spansNamed("saga.step look").get(0);
    assertThat(look.getParentSpanId()).isEqualTo(start.getSpanId());
    assertThat(seen).hasSize(1);
    assertThat(seen.get(0).getTraceId()).isEqualTo(REQUEST_TRACE);
    assertThat(seen.get(0).getSpanId()).isEqualTo(look.getSpanId());
  }

  @Test
  void aRecoveredSagaAddsItsAttemptsToTheTraceItWasWrittenWith() {
    var kit = entity();
    var result =
        kit.<StartReply>runCommand(
            replyTo ->
                new SagaEntity.Start(
                    "two", null, JsonNodeFactory.instance.objectNode(), null, replyTo));
    var started = (SagaEvent.SagaStarted) result.event();
    script.awaitAction("hold", 1);

    // The incarnation that held the attempt is gone; the next one recovers from the journal.
    kit.restart();
    script.await(c -> c.step().equals("hold"), 2, WAIT).succeed();
    Eventually.until(
        "the second attempt's span", WAIT, () -> spansNamed("saga.step hold").size() == 1);

    SpanData again = spansNamed("saga.step hold").get(0);
    assertThat(again.getTraceId()).isEqualTo(started.traceId());
    assertThat(again.getParentSpanId()).isEqualTo(started.parentSpanId());
    assertThat(spansNamed("saga.start two"))
        .singleElement()
        .satisfies(s -> assertThat(s.getSpanId()).isEqualTo(started.parentSpanId()));
  }
}
