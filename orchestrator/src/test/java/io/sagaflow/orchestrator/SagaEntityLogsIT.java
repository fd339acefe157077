package io.sagaflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaReplies.StartReply;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import io.sagaflow.orchestrator.internal.HttpParticipantClient;
import io.sagaflow.orchestrator.internal.ParticipantDirectory;
import io.sagaflow.orchestrator.internal.StepRunner;
import io.sagaflow.orchestrator.telemetry.SagaMdc;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.LogCapture;
import io.sagaflow.orchestrator.testing.StubParticipant;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * Every line logged about a saga carries its keys of the MDC ({@link SagaMdc}): the entity's own
 * lines, Pekko's persistence lines for the saga, the circuit breaker's line on the saga's answer
 * (another thread), and a user's lines inside a local step (the local-step pool), which keeps no
 * key once the step has run. A saga whose HTTP step fails three times (opening its participant's
 * breaker) and is compensated, the undo of a local step included.
 */
class SagaEntityLogsIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final String USER_LOGGER = "test.local-step";
  private static final Pattern ATTEMPT = Pattern.compile("attempt (\\d+)");

  // The payments breaker opens after two failures in a row; a trial call every 2 s finds payments
  // still down. The second saga's attempts wait for those trials (at most 4 s each).
  private static final ActorTestKit testKit =
      ActorTestKit.create(
          "SagaEntityLogsIT",
          ConfigFactory.parseString(
                  "sagaflow.participant-client.circuit-breaker {\n"
                      + "  max-failures = 2\n"
                      + "  reset-timeout = 2s\n"
                      + "  max-reset-timeout = 2s\n"
                      + "}")
              .withFallback(EventSourcedBehaviorTestKit.config())
              .withFallback(ConfigFactory.load()));

  private static final org.slf4j.Logger userLog = LoggerFactory.getLogger(USER_LOGGER);

  private final SagaDefinition<?> logged =
      SagaDefinition.builder("logged")
          .defaultRetry(
              r ->
                  r.maxAttempts(3)
                      .minBackoff(Duration.ofMillis(20))
                      .maxBackoff(Duration.ofMillis(50)))
          .step(
              Step.named("prepare")
                  .invoke(
                      LocalCall.of(
                          ctx -> {
                            userLog.info("preparing saga {}", ctx.sagaId());
                            return Map.of("prepared", true);
                          }))
                  .compensateWith(
                      LocalCall.of(
                          ctx -> {
                            userLog.info("undoing saga {}", ctx.sagaId());
                            return Map.of();
                          })))
          .step(
              Step.named("charge")
                  .invoke(HttpCall.post("payments", "/charge"))
                  .compensateWith(HttpCall.post("refunds", "/refund")))
          .build();

  private StubParticipant stub;
  private ExecutorService localSteps;
  private StepRunner runner;
  private final Map<String, Level> levelsBefore = new java.util.HashMap<>();

  @BeforeEach
  void start() {
    stub = StubParticipant.start();
    stub.on("/charge").alwaysStatus(503);
    var directory =
        new ParticipantDirectory(
            ConfigFactory.parseMap(
                Map.of(
                    "sagaflow.participants.payments.url", stub.baseUrl(),
                    "sagaflow.participants.refunds.url", stub.baseUrl())),
            Map.of());
    // One thread: the second saga's local steps run on the thread the first one's ran on.
    localSteps = Executors.newSingleThreadExecutor(r -> new Thread(r, "local-steps"));
    runner =
        new StepRunner(
            HttpParticipantClient.create(testKit.system(), directory),
            SagaEngine.objectMapper(testKit.system()),
            localSteps);
    // Whatever the test's logback configuration: the saga's debug lines and Pekko's persistence
    // lines are among those checked.
    level("io.sagaflow", Level.DEBUG);
    level(USER_LOGGER, Level.INFO);
    level("org.apache.pekko.persistence.typed", Level.DEBUG);
  }

  @AfterEach
  void stop() {
    levelsBefore.forEach((name, level) -> logger(name).setLevel(level));
    localSteps.shutdownNow();
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
  void everyLineAboutASagaCarriesItsIdTypeStepAndAttempt() throws Exception {
    String first = "logs-1";
    List<ILoggingEvent> events = runToCompensated(first);

    List<ILoggingEvent> entity = events.stream().filter(SagaEntityLogsIT::isEntity).toList();
    assertThat(entity).as("the entity's lines").isNotEmpty();
    assertThat(entity)
        .allSatisfy(e -> assertThat(e.getMDCPropertyMap()).containsEntry(SagaMdc.SAGA_ID, first))
        .allSatisfy(
            e -> assertThat(e.getMDCPropertyMap()).containsEntry(SagaMdc.SAGA_TYPE, "logged"));
    List<ILoggingEvent> retries = messages(entity, "Step charge attempt ");
    assertThat(retries).as("a line for each retried attempt").hasSize(2);
    List<ILoggingEvent> aboutAttempts = messages(entity, "Step charge ");
    assertThat(aboutAttempts).as("the lines about attempts of 'charge'").hasSize(3);
    assertThat(aboutAttempts)
        .allSatisfy(
            e ->
                assertThat(e.getMDCPropertyMap())
                    .containsEntry(SagaMdc.SAGA_STEP, "charge")
                    .containsEntry(SagaMdc.SAGA_ATTEMPT, attemptIn(e)));

    List<ILoggingEvent> persistence =
        events.stream()
            .filter(e -> ("saga|" + first).equals(e.getMDCPropertyMap().get("persistenceId")))
            .toList();
    assertThat(persistence).as("Pekko's persistence lines for the saga").isNotEmpty();
    assertThat(persistence)
        .allSatisfy(e -> assertThat(e.getMDCPropertyMap()).containsEntry(SagaMdc.SAGA_ID, first));

    List<ILoggingEvent> breaker =
        messages(events, "Circuit breaker of participant 'payments' opened after");
    assertThat(breaker).as("the breaker's line when it opened").hasSize(1);
    assertThat(breaker.get(0).getThreadName()).doesNotContain("local-steps");
    assertThat(breaker.get(0).getMDCPropertyMap())
        .containsEntry(SagaMdc.SAGA_ID, first)
        .containsEntry(SagaMdc.SAGA_TYPE, "logged")
        .containsEntry(SagaMdc.SAGA_STEP, "charge")
        .containsEntry(SagaMdc.SAGA_ATTEMPT, "2");

    assertUserLines(events, first);

    // The pool's thread keeps nothing of the first saga: the second's lines carry its own id.
    String second = "logs-2";
    assertUserLines(runToCompensated(second), second);
    Map<String, String> left =
        localSteps.submit(() -> MDC.getCopyOfContextMap()).get(10, TimeUnit.SECONDS);
    assertThat(left == null ? Map.of() : left)
        .as("the MDC left on the local-step thread")
        .isEmpty();
  }

  /** The user's lines inside the local step and its compensation, on the local-step thread. */
  private static void assertUserLines(List<ILoggingEvent> events, String sagaId) {
    List<ILoggingEvent> user =
        events.stream().filter(e -> e.getLoggerName().equals(USER_LOGGER)).toList();
    assertThat(user)
        .extracting(ILoggingEvent::getFormattedMessage)
        .containsExactly("preparing saga " + sagaId, "undoing saga " + sagaId);
    assertThat(user)
        .allSatisfy(e -> assertThat(e.getThreadName()).isEqualTo("local-steps"))
        .allSatisfy(
            e ->
                assertThat(e.getMDCPropertyMap())
                    .containsEntry(SagaMdc.SAGA_ID, sagaId)
                    .containsEntry(SagaMdc.SAGA_TYPE, "logged")
                    .containsEntry(SagaMdc.SAGA_STEP, "prepare")
                    .containsEntry(SagaMdc.SAGA_ATTEMPT, "1"));
  }

  /** Runs saga {@code id} until it is compensated; returns what was logged meanwhile. */
  private List<ILoggingEvent> runToCompensated(String id) {
    try (LogCapture capture = LogCapture.start()) {
      EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> saga =
          EventSourcedBehaviorTestKit.create(
              testKit.system(), SagaEntity.create(id, null, SagaRegistry.of(logged), runner));
      saga.<StartReply>runCommand(
          replyTo ->
              new SagaEntity.Start(
                  "logged", null, JsonNodeFactory.instance.objectNode().put("n", 1), replyTo));
      Eventually.until(
          "saga " + id + " COMPENSATED",
          WAIT,
          () ->
              saga.getState() instanceof SagaSnapshot.Started s
                  && s.status() == SagaStatus.COMPENSATED);
      // The compensation's own line is logged before its outcome reaches the saga.
      Eventually.until(
          "the undo's line of " + id,
          WAIT,
          () -> !messages(capture.events(), "undoing saga " + id).isEmpty());
      return capture.events();
    }
  }

  private static boolean isEntity(ILoggingEvent e) {
    return e.getLoggerName().equals(SagaEntity.class.getName());
  }

  private static List<ILoggingEvent> messages(List<ILoggingEvent> events, String prefix) {
    return events.stream().filter(e -> e.getFormattedMessage().startsWith(prefix)).toList();
  }

  private static String attemptIn(ILoggingEvent e) {
    Matcher m = ATTEMPT.matcher(e.getFormattedMessage());
    if (m.find()) {
      return m.group(1);
    }
    // "Step charge gave no answer after 3 attempts": its last attempt.
    Matcher after = Pattern.compile("after (\\d+) attempts").matcher(e.getFormattedMessage());
    assertThat(after.find()).as("an attempt named in: %s", e.getFormattedMessage()).isTrue();
    return after.group(1);
  }

  private void level(String name, Level level) {
    Logger logger = logger(name);
    levelsBefore.putIfAbsent(name, logger.getLevel());
    logger.setLevel(level);
  }

  private static Logger logger(String name) {
    return (Logger) LoggerFactory.getLogger(name);
  }
}
