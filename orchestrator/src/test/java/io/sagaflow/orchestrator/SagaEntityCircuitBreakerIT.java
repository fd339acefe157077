package io.sagaflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaReplies.StartReply;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import io.sagaflow.orchestrator.internal.HttpParticipantClient;
import io.sagaflow.orchestrator.internal.ParticipantDirectory;
import io.sagaflow.orchestrator.internal.StepRunner;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Sagas calling a real HTTP participant that answers 503, through the real participant client and
 * its circuit breaker: once the breaker is open their attempts fail without reaching the
 * participant, still count against the step's policy, and the saga's failure names the breaker.
 */
class SagaEntityCircuitBreakerIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final int SAGAS = 20;
  private static final int ATTEMPTS = 5;

  // Opens after two failures in a row; a trial call every second finds payments still down. An
  // attempt it turns away waits for the next trial (at most 2 s), not the steps' 50 ms.
  private static final ActorTestKit testKit =
      ActorTestKit.create(
          "SagaEntityCircuitBreakerIT",
          ConfigFactory.parseString(
                  "sagaflow.participant-client.circuit-breaker {\n"
                      + "  max-failures = 2\n"
                      + "  reset-timeout = 1s\n"
                      + "  max-reset-timeout = 1s\n"
                      + "}\n"
                      + "pekko.loglevel = INFO")
              .withFallback(EventSourcedBehaviorTestKit.config())
              .withFallback(ConfigFactory.load()));
  private static final PersistenceTestKit journal = PersistenceTestKit.create(testKit.system());

  private final SagaDefinition<?> order =
      SagaDefinition.builder("order")
          .defaultRetry(
              r ->
                  r.maxAttempts(ATTEMPTS)
                      .minBackoff(Duration.ofMillis(20))
                      .maxBackoff(Duration.ofMillis(50)))
          .step(
              Step.named("reserve")
                  .invoke(HttpCall.post("inventory", "/reserve"))
                  .compensateWith(HttpCall.post("inventory", "/release")))
          .step(
              Step.named("charge")
                  .invoke(HttpCall.post("payments", "/charge"))
                  .pivot()
                  .retry(r -> r.maxAttempts(ATTEMPTS)))
          .build();

  private StubParticipant stub;
  private StepRunner runner;

  @BeforeEach
  void start() {
    journal.clearAll();
    stub = StubParticipant.start();
    var directory =
        new ParticipantDirectory(
            ConfigFactory.parseMap(
                Map.of(
                    "sagaflow.participants.payments.url", stub.baseUrl(),
                    "sagaflow.participants.inventory.url", stub.baseUrl())),
            Map.of());
    runner =
        new StepRunner(
            HttpParticipantClient.create(testKit.system(), directory),
            SagaEngine.objectMapper(testKit.system()),
            ForkJoinPool.commonPool());
  }

  @AfterEach
  void stop() {
    stub.close();
  }

  @AfterAll
  static void shutdown() throws Exception {
    Http.get(testKit.system())
        .shutdownAllConnectionPools()
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    testKit.shutdownTestKit();
  }

  @Test
  void attemptsTheOpenBreakerTurnsAwayReachNoParticipantCountAsAttemptsAndNameTheBreaker() {
    stub.on("/charge").alwaysStatus(503);
    var registry = SagaRegistry.of(order);
    List<String> ids = new ArrayList<>();
    List<EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot>> sagas =
        new ArrayList<>();
    for (int i = 0; i < SAGAS; i++) {
      String id = "saga-" + UUID.randomUUID();
      ids.add(id);
      sagas.add(
          EventSourcedBehaviorTestKit.create(
              testKit.system(), SagaEntity.create(id, null, registry, runner)));
    }
    for (var saga : sagas) {
      saga.<StartReply>runCommand(
          replyTo ->
              new SagaEntity.Start(
                  "order", null, JsonNodeFactory.instance.objectNode().put("n", 1), replyTo));
    }

    List<SagaSnapshot.Started> failed = new ArrayList<>();
    for (var saga : sagas) {
      failed.add(
          Eventually.await(
              "saga FAILED",
              WAIT,
              () ->
                  saga.getState() instanceof SagaSnapshot.Started s
                          && s.status() == SagaStatus.FAILED
                      ? s
                      : null));
    }

    List<String> errors = new ArrayList<>();
    for (String id : ids) {
      for (Object event : journal.persistedInStorage("saga|" + id)) {
        if (event instanceof SagaEvent.StepAttemptFailed f) {
          errors.add(f.error());
        } else if (event instanceof SagaEvent.StepFailedAfterPivot f) {
          errors.add(f.error());
        }
      }
    }
    long answered =
        errors.stream().filter(e -> e.startsWith("payments POST /charge answered 503")).count();
    long notSent =
        errors.stream()
            .filter(e -> e.startsWith("not sent: the circuit breaker of participant 'payments'"))
            .count();
    assertThat(errors).as("every attempt follows the policy").hasSize(SAGAS * ATTEMPTS);
    assertThat(answered + notSent).isEqualTo(errors.size());
    assertThat(stub.calls("/charge")).as("calls that reached payments").hasSize((int) answered);
    assertThat(notSent).as("attempts turned away by the open breaker").isPositive();
    // A saga whose last attempt was one of the breaker's trial calls names the 503 it got.
    assertThat(failed)
        .allSatisfy(
            s ->
                assertThat(s.failure())
                    .startsWith("pivot step 'charge' gave no answer after 5 attempts: ")
                    .contains("payments POST /charge answered 503"));
    assertThat(failed)
        .filteredOn(s -> s.failure().contains("not sent:"))
        .isNotEmpty()
        .allSatisfy(
            s ->
                assertThat(s.failure())
                    .containsPattern(
                        "the circuit breaker of participant 'payments' is (open|half-open)")
                    .contains("last failure: payments POST /charge answered 503"));
    assertThat(stub.calls("/reserve")).hasSize(SAGAS);
  }
}
