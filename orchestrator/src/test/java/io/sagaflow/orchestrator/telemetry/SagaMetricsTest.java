package io.sagaflow.orchestrator.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sagaflow.orchestrator.SagaRegistry;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.history.Phase;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaEvent.CompensationFailed;
import io.sagaflow.orchestrator.history.SagaEvent.SagaCompleted;
import io.sagaflow.orchestrator.history.SagaEvent.SagaResumed;
import io.sagaflow.orchestrator.history.SagaEvent.SagaStarted;
import io.sagaflow.orchestrator.history.SagaEvent.StepAttemptFailed;
import io.sagaflow.orchestrator.history.SagaEvent.StepCompensated;
import io.sagaflow.orchestrator.history.SagaEvent.StepFailed;
import io.sagaflow.orchestrator.history.SagaEvent.StepSucceeded;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry.AttemptEnd;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry.AttemptOutcome;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry.AttemptStart;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry.Duplicate;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

class SagaMetricsTest {
  private static final Instant T0 = Instant.parse("2026-12-01T10:00:00Z");
  private static final JsonNodeFactory JSON = JsonNodeFactory.instance;
  private static final String SAGA_ID = "order-4711";

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final SagaMetrics metrics = new SagaMetrics(registry);

  private static Instant t(int seconds) {
    return T0.plusSeconds(seconds);
  }

  private static SagaStarted started() {
    return new SagaStarted(
        "order",
        1,
        JSON.objectNode(),
        "f",
        "0af7651916cd43dd8448eb211c80319c",
        null,
        "reserve",
        null,
        t(0));
  }

  /** Tells the metrics of each event as the entity does: with the snapshot it leaves. */
  private void written(List<SagaEvent> events) {
    SagaSnapshot state = new SagaSnapshot.NotStarted();
    for (SagaEvent event : events) {
      state = state.apply(event);
      metrics.eventWritten(SAGA_ID, event, state);
    }
  }

  private double counter(String name, String... tags) {
    var counter = registry.find(name).tags(tags).counter();
    return counter == null ? 0 : counter.count();
  }

  private Timer timer(String name, String... tags) {
    return registry.find(name).tags(tags).timer();
  }

  private static AttemptStart attempt(Phase phase, String step, String participant) {
    return new AttemptStart(
        SAGA_ID, "order", phase, step, 1, participant, "0af7651916cd43dd8448eb211c80319c", null);
  }

  @Test
  void aStartCountsOnceAndStepsInBetweenCountNothing() {
    written(
        List.of(
            started(),
            new StepSucceeded("reserve", 1, JSON.objectNode(), "charge", t(1)),
            new StepAttemptFailed("charge", 1, "503", t(3), t(2))));

    assertThat(counter("sagaflow.sagas.started", "saga_type", "order")).isEqualTo(1);
    assertThat(registry.find("sagaflow.sagas.finished").counters())
        .allSatisfy(c -> assertThat(c.count()).isZero());
    assertThat(registry.find("sagaflow.saga.duration").timers())
        .allSatisfy(t -> assertThat(t.count()).isZero());
  }

  @Test
  void aCompensatedSagaFinishesOnceWithItsDurationFromTheEventsTimes() {
    written(
        List.of(
            started(),
            new StepSucceeded("reserve", 1, JSON.objectNode(), "charge", t(1)),
            new StepFailed("charge", 1, "402", false, "rejected", List.of("reserve"), t(2)),
            new StepCompensated("reserve", 1, true, t(3))));

    assertThat(counter("sagaflow.sagas.finished", "saga_type", "order", "status", "COMPENSATED"))
        .isEqualTo(1);
    assertThat(counter("sagaflow.sagas.finished", "saga_type", "order", "status", "COMPLETED"))
        .isZero();
    assertThat(counter("sagaflow.sagas.finished", "saga_type", "order", "status", "FAILED"))
        .isZero();
    Timer duration = timer("sagaflow.saga.duration", "saga_type", "order", "status", "COMPENSATED");
    assertThat(duration.count()).isEqualTo(1);
    assertThat(duration.totalTime(java.util.concurrent.TimeUnit.MILLISECONDS)).isEqualTo(3000);
  }

  @Test
  void aFailedSagaResumedToCompletionCountsOnceFailedAndOnceCompleted() {
    written(
        List.of(
            started(),
            new StepSucceeded("reserve", 1, JSON.objectNode(), "charge", t(1)),
            new StepFailed("charge", 1, "402", false, "rejected", List.of("reserve"), t(2)),
            new CompensationFailed("reserve", 1, "400", "gave up", t(4)),
            new SagaResumed("r-1", t(10)),
            new StepCompensated("reserve", 2, true, t(11))));

    assertThat(counter("sagaflow.sagas.finished", "saga_type", "order", "status", "FAILED"))
        .isEqualTo(1);
    assertThat(counter("sagaflow.sagas.finished", "saga_type", "order", "status", "COMPENSATED"))
        .isEqualTo(1);
    assertThat(
            timer("sagaflow.saga.duration", "saga_type", "order", "status", "FAILED")
                .totalTime(java.util.concurrent.TimeUnit.SECONDS))
        .isEqualTo(4);
    assertThat(
            timer("sagaflow.saga.duration", "saga_type", "order", "status", "COMPENSATED")
                .totalTime(java.util.concurrent.TimeUnit.SECONDS))
        .isEqualTo(11);
  }

  @Test
  void aCompletedSagaCountsAsCompleted() {
    written(List.of(started(), new SagaCompleted("reserve", 1, JSON.objectNode(), t(1))));

    assertThat(counter("sagaflow.sagas.finished", "saga_type", "order", "status", "COMPLETED"))
        .isEqualTo(1);
  }

  @Test
  void eachAttemptCountsUnderItsPhaseStepParticipantAndOutcome() {
    for (AttemptOutcome outcome : AttemptOutcome.values()) {
      metrics
          .attemptStarted(attempt(Phase.FORWARD, "charge", "payments"))
          .ended(new AttemptEnd(outcome, null, false, null));
    }
    metrics
        .attemptStarted(attempt(Phase.FORWARD, "charge", "payments"))
        .ended(new AttemptEnd(AttemptOutcome.RETRYABLE, "503", false, Duration.ofSeconds(1)));
    metrics
        .attemptStarted(attempt(Phase.COMPENSATION, "reserve", "local"))
        .ended(new AttemptEnd(AttemptOutcome.SUCCESS, null, false, null));

    String[] charge = {"saga_type", "order", "step", "charge", "participant", "payments"};
    assertThat(counter("sagaflow.step.attempts", with(charge, "outcome", "success"))).isEqualTo(1);
    assertThat(counter("sagaflow.step.attempts", with(charge, "outcome", "retryable")))
        .isEqualTo(2);
    assertThat(counter("sagaflow.step.attempts", with(charge, "outcome", "rejected"))).isEqualTo(1);
    assertThat(counter("sagaflow.step.attempts", with(charge, "outcome", "timeout"))).isEqualTo(1);
    assertThat(counter("sagaflow.step.attempts", with(charge, "outcome", "uncertain")))
        .isEqualTo(1);
    assertThat(
            timer("sagaflow.step.attempt.duration", with(charge, "outcome", "retryable")).count())
        .isEqualTo(2);
    String[] release = {
      "saga_type", "order", "step", "reserve", "participant", "local", "outcome", "success"
    };
    assertThat(counter("sagaflow.compensation.attempts", release)).isEqualTo(1);
    assertThat(timer("sagaflow.compensation.attempt.duration", release).count()).isEqualTo(1);
    assertThat(registry.find("sagaflow.step.attempts").tags("step", "reserve").counters())
        .isEmpty();
    assertThat(counter("sagaflow.duplicates", "saga_type", "order", "kind", "participant_replay"))
        .isZero();
  }

  @Test
  void anAnswerTheParticipantReplayedIsASuccessAndADuplicate() {
    var attempt = metrics.attemptStarted(attempt(Phase.FORWARD, "charge", "payments"));
    attempt.ended(new AttemptEnd(AttemptOutcome.SUCCESS, null, true, null));

    assertThat(counter("sagaflow.duplicates", "saga_type", "order", "kind", "participant_replay"))
        .isEqualTo(1);
    assertThat(counter("sagaflow.step.attempts", "step", "charge", "outcome", "success"))
        .isEqualTo(1);
  }

  @Test
  void anAttemptCarriesAnUntracedTraceparentOfTheSagasTrace() {
    var attempt = metrics.attemptStarted(attempt(Phase.FORWARD, "charge", "payments"));

    assertThat(attempt.traceparent())
        .matches("00-0af7651916cd43dd8448eb211c80319c-[0-9a-f]{16}-01")
        .isSameAs(attempt.traceparent());
  }

  @Test
  void retriesCountPerPhaseAndThoseThatHonourRetryAfterApart() {
    metrics.retryScheduled("order", Phase.FORWARD, "charge", Duration.ofSeconds(1), true);
    metrics.retryScheduled("order", Phase.FORWARD, "charge", Duration.ofMillis(200), false);
    metrics.retryScheduled("order", Phase.COMPENSATION, "reserve", Duration.ofSeconds(1), false);

    String[] charge = {"saga_type", "order", "step", "charge", "phase", "forward"};
    assertThat(counter("sagaflow.retries.scheduled", charge)).isEqualTo(2);
    assertThat(counter("sagaflow.retry.after.honoured", charge)).isEqualTo(1);
    String[] undo = {"saga_type", "order", "step", "reserve", "phase", "compensation"};
    assertThat(counter("sagaflow.retries.scheduled", undo)).isEqualTo(1);
    assertThat(counter("sagaflow.retry.after.honoured", undo)).isZero();
  }

  @Test
  void eachSignalReceivedCountsUnderItsTypeAndName() {
    written(
        List.of(
            started(),
            new SagaEvent.SignalReceived("approval", JSON.objectNode(), "k-1", t(1)),
            new SagaEvent.SignalReceived("receipt", JSON.objectNode(), "k-2", t(2))));

    assertThat(counter(SagaMetrics.SIGNALS_RECEIVED, "saga_type", "order", "signal", "approval"))
        .isEqualTo(1);
    assertThat(counter(SagaMetrics.SIGNALS_RECEIVED, "saga_type", "order", "signal", "receipt"))
        .isEqualTo(1);
    assertThat(registry.find(SagaMetrics.SIGNALS_RECEIVED).counters()).hasSize(2);
  }

  @Test
  void duplicatesCountByKind() {
    metrics.duplicate(Duplicate.START, "order");
    metrics.duplicate(Duplicate.START, "order");
    metrics.duplicate(Duplicate.OPERATOR_COMMAND, "order");
    metrics.duplicate(Duplicate.STALE_REPLY, "order");

    assertThat(counter("sagaflow.duplicates", "saga_type", "order", "kind", "start")).isEqualTo(2);
    assertThat(counter("sagaflow.duplicates", "saga_type", "order", "kind", "operator_command"))
        .isEqualTo(1);
    assertThat(counter("sagaflow.duplicates", "saga_type", "order", "kind", "stale_reply"))
        .isEqualTo(1);
    assertThat(counter("sagaflow.duplicates", "saga_type", "order", "kind", "participant_replay"))
        .isZero();
  }

  @Test
  void registeredTypesShowZerosAndTheirDeadlineBeforeAnythingHappens() {
    var hurried =
        SagaDefinition.builder("hurried")
            .deadline(Duration.ofMinutes(5))
            .step(
                Step.named("only")
                    .invoke(LocalCall.of(ctx -> CompletableFuture.completedFuture("done")))
                    .noCompensation())
            .build();
    var relaxed =
        SagaDefinition.builder("relaxed")
            .step(
                Step.named("only")
                    .invoke(LocalCall.of(ctx -> CompletableFuture.completedFuture("done")))
                    .noCompensation())
            .build();
    var approved =
        SagaDefinition.builder("approved")
            .step(
                Step.named("approval")
                    .awaitSignal(io.sagaflow.orchestrator.dsl.AwaitSignal.named("approval")))
            .build();
    var fresh = new SimpleMeterRegistry();
    new SagaMetrics(fresh, SagaRegistry.of(hurried, relaxed, approved));

    assertThat(fresh.find("sagaflow.sagas.started").tags("saga_type", "relaxed").counter().count())
        .isZero();
    assertThat(fresh.find("sagaflow.sagas.finished").tags("saga_type", "hurried").counters())
        .hasSize(3);
    assertThat(fresh.find("sagaflow.duplicates").tags("saga_type", "hurried").counters())
        .hasSize(Duplicate.values().length);
    assertThat(fresh.find("sagaflow.saga.deadline").tags("saga_type", "hurried").gauge().value())
        .isEqualTo(300);
    assertThat(fresh.find("sagaflow.saga.deadline").tags("saga_type", "relaxed").gauge()).isNull();
    assertThat(
            fresh
                .find(SagaMetrics.SIGNALS_RECEIVED)
                .tags("saga_type", "approved", "signal", "approval")
                .counter()
                .count())
        .isZero();
    assertThat(fresh.find(SagaMetrics.SIGNALS_RECEIVED).counters()).hasSize(1);
  }

  @Test
  void noMeterIsLabelledWithASagaId() {
    written(List.of(started(), new SagaCompleted("reserve", 1, JSON.objectNode(), t(1))));
    metrics
        .attemptStarted(attempt(Phase.FORWARD, "reserve", "inventory"))
        .ended(new AttemptEnd(AttemptOutcome.SUCCESS, null, true, null));
    metrics.retryScheduled("order", Phase.FORWARD, "reserve", Duration.ofSeconds(1), true);
    metrics.duplicate(Duplicate.START, "order");

    assertThat(registry.getMeters()).isNotEmpty();
    for (Meter meter : registry.getMeters()) {
      assertThat(meter.getId().getTags()).extracting(Tag::getValue).doesNotContain(SAGA_ID);
    }
  }

  private static String[] with(String[] tags, String key, String value) {
    String[] all = java.util.Arrays.copyOf(tags, tags.length + 2);
    all[tags.length] = key;
    all[tags.length + 1] = value;
    return all;
  }
}
