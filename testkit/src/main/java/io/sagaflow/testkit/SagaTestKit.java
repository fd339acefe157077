package io.sagaflow.testkit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaEngine;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.actor.testkit.typed.javadsl.ManualTime;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.testkit.ExplicitlyTriggeredScheduler;

/**
 * Runs a saga definition against scripted participant answers, in virtual time, for the tests of
 * users' sagas. Given the answers, when the saga is started, expect what it did:
 *
 * <pre>{@code
 * try (SagaTestKit kit = SagaTestKit.create()) {
 *   kit.given(OrderSaga.definition())
 *       .step(RESERVE).answers(Answer.status(503), Answer.ok("{\"reservationId\":\"r-1\"}"))
 *       .step(CHARGE).answers(Answer.status(422))
 *       .when()
 *       .started("order-1", new Order("order-1", 2))
 *       .expect()
 *       .status(SagaStatus.COMPENSATED)
 *       .calls("reserve", "reserve", "charge", "undo reserve")
 *       .call(RESERVE, 1)
 *       .hasIdempotencyKey("order-1/reserve");
 * }
 * }</pre>
 *
 * <p>The saga runs on the engine itself: its saga entity, step runner and failure rules, with
 * Pekko's in-memory journal. Only the participants are scripted ({@link Answer}); local steps run
 * their own functions. The actor system's scheduler is moved by hand, and the saga's clock with it,
 * so retry backoffs, timeouts and the deadline pass at once.
 *
 * <p>A kit runs one scenario at a time, from one thread. Starting an actor system takes a moment:
 * share a kit across a test class's tests and close it after them, or open one per test.
 */
public final class SagaTestKit implements AutoCloseable {

  /** Where the virtual time of every kit starts. */
  public static final Instant START = Instant.parse("2030-01-01T00:00:00Z");

  private static final AtomicInteger KITS = new AtomicInteger();

  /**
   * The in-memory journal answers at once, so its circuit breaker's call timeout can only ever fire
   * because the manual scheduler was moved past it: never let it.
   */
  private static final Config KIT_CONFIG =
      ConfigFactory.parseString(
          "pekko.persistence.testkit.journal.circuit-breaker.call-timeout = 3650d\n"
              + "pekko.persistence.journal-plugin-fallback.circuit-breaker.call-timeout = 3650d\n"
              + "pekko.persistence.snapshot-store-plugin-fallback.circuit-breaker.call-timeout ="
              + " 3650d");

  private final ActorTestKit actors;
  private final ManualTime manualTime;
  private final Clock clock;
  private final ExecutorService localSteps;
  private final ObjectMapper mapper;
  private SagaRun<?> current;

  private SagaTestKit(Config config) {
    this.actors =
        ActorTestKit.create(
            "SagaTestKit-" + KITS.incrementAndGet(),
            ManualTime.config()
                .withFallback(EventSourcedBehaviorTestKit.config())
                .withFallback(KIT_CONFIG)
                .withFallback(config)
                // An application.conf on the test's class path may ask for a cluster.
                .withFallback(ConfigFactory.parseString("pekko.actor.provider = local"))
                .withFallback(ConfigFactory.load()));
    this.manualTime = ManualTime.get(actors.system());
    this.clock =
        new ManualClock(
            (ExplicitlyTriggeredScheduler) actors.system().classicSystem().scheduler(), START);
    var threads = new AtomicInteger();
    this.localSteps =
        Executors.newFixedThreadPool(
            4,
            task -> {
              Thread thread = new Thread(task, "saga-test-kit-local-" + threads.incrementAndGet());
              thread.setDaemon(true);
              return thread;
            });
    this.mapper = SagaEngine.objectMapper(actors.system());
  }

  /** A kit with its own actor system, configured from the class path's configuration. */
  public static SagaTestKit create() {
    return create(ConfigFactory.empty());
  }

  /**
   * A kit whose actor system takes {@code config} over the class path's configuration, e.g. the
   * Jackson settings of your own application. The journal and the scheduler stay the kit's.
   */
  public static SagaTestKit create(Config config) {
    return new SagaTestKit(Objects.requireNonNull(config, "config"));
  }

  /** Starts a scenario: the saga {@code definition} defines, and its participants' answers. */
  public <I> Scenario<I> given(SagaDefinition<I> definition) {
    return new Scenario<>(this, Objects.requireNonNull(definition, "definition"));
  }

  /** The kit's virtual time, which the sagas it runs read. */
  public Clock clock() {
    return clock;
  }

  /** Stops the saga of the current scenario, the actor system and the local-step pool. */
  @Override
  public void close() {
    try {
      stopCurrent();
    } finally {
      try {
        actors.shutdownTestKit();
      } finally {
        localSteps.shutdownNow();
      }
    }
  }

  ActorTestKit actors() {
    return actors;
  }

  ObjectMapper mapper() {
    return mapper;
  }

  ExecutorService localSteps() {
    return localSteps;
  }

  /** Moves the virtual time on by {@code duration}, firing every timer due meanwhile. */
  void timePasses(Duration duration) {
    manualTime.timePasses(duration);
  }

  /** Stops the saga of the scenario before, so that nothing it does is left to the next one. */
  void stopCurrent() {
    if (current != null) {
      current.stop();
      current = null;
    }
  }

  /** Makes {@code run} the kit's scenario. */
  void runs(SagaRun<?> run) {
    current = run;
  }
}
