package io.sagaflow.node;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.sagaflow.orchestrator.SagaEngine;
import io.sagaflow.orchestrator.telemetry.NodeMetrics;
import io.sagaflow.persistence.timer.SagaTimers;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SingletonActor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wakes sagas whose durable timer ({@code saga_timer}) falls due: the sagas that left memory to
 * wait. Every {@code poll-interval} it reads the timers due within {@code look-ahead}, earliest
 * first, sets an actor timer for each, and at its due time wakes the saga through sharding (so it
 * reaches whichever node owns the saga now): it asks the saga for its view, which it answers once
 * it has recovered from the journal and carried on. At most {@code max-wakes-in-flight} wakes are
 * unanswered at a time; timers due beyond that wait their turn (later, but the node does not fill
 * its heap with sagas waiting to recover). The timers whose saga answered are deleted at the next
 * poll; one that did not answer is read and fired again. Runs as a cluster singleton, so one per
 * cluster, moved when its node leaves or is downed.
 *
 * <p>Nothing is lost between the steps: a timer whose wake was sent but not deleted (the poller's
 * node died) is fired again by the next poller, and a wake costs a live saga nothing; a timer
 * deleted whose wake was lost (the saga's node died) leaves a saga that is not durably waiting,
 * which the recovery sweep of that node's removal wakes.
 *
 * <p>Counted as {@code sagaflow_timer_wakes_total} and {@code sagaflow_timer_wake_lateness_seconds}
 * (how long after its due time each wake was sent), on the node the singleton runs on.
 */
final class TimerPoller {
  private static final Logger log = LoggerFactory.getLogger(TimerPoller.class);

  private TimerPoller() {}

  /** The poller's settings, from {@code sagaflow.timers}. */
  record Settings(Duration pollInterval, Duration lookAhead, int batchSize, int maxWakesInFlight) {}

  private sealed interface Msg {}

  private enum Poll implements Msg {
    INSTANCE
  }

  private record Polled(List<SagaTimers.Due> due, List<SagaTimers.Due> deleted, Throwable failure)
      implements Msg {}

  private record Fire(SagaTimers.Due timer) implements Msg {}

  private record Woken(SagaTimers.Due timer, boolean answered) implements Msg {}

  private enum Stop implements Msg {
    INSTANCE
  }

  /** The poller's meters. */
  private record Meters(Counter wakes, Timer lateness) {
    static Meters in(MeterRegistry registry) {
      return new Meters(
          Counter.builder("sagaflow.timer.wakes")
              .description(
                  "Wakes sent to sagas whose durable timer fell due (on the poller's node)")
              .register(registry),
          Timer.builder("sagaflow.timer.wake.lateness")
              .description("How long after its due time a durable timer's wake was sent")
              .serviceLevelObjectives(
                  Duration.ofMillis(5),
                  Duration.ofMillis(10),
                  Duration.ofMillis(25),
                  Duration.ofMillis(50),
                  Duration.ofMillis(100),
                  Duration.ofMillis(250),
                  Duration.ofMillis(500),
                  Duration.ofSeconds(1),
                  Duration.ofSeconds(2),
                  Duration.ofSeconds(5),
                  Duration.ofSeconds(10),
                  Duration.ofSeconds(60))
              .register(registry));
    }
  }

  /**
   * Runs the poller as a cluster singleton; its meters exist on every node, and each node reads
   * {@code sagaflow_timers_due} every {@code gaugeInterval} in the background.
   */
  static void start(
      ActorSystem<?> system,
      SagaEngine engine,
      SagaTimers timers,
      Settings settings,
      Duration gaugeInterval) {
    MeterRegistry registry = NodeMetrics.get(system.classicSystem()).registry();
    var meters = Meters.in(registry);
    var due = new AtomicReference<Double>(Double.NaN);
    Gauge.builder("sagaflow.timers.due", due, AtomicReference::get)
        .description(
            "Durable timers past their due time and not yet deleted by the poller (cluster-wide)")
        .strongReference(true)
        .register(registry);
    system
        .scheduler()
        .scheduleWithFixedDelay(
            Duration.ZERO,
            gaugeInterval,
            () -> {
              try {
                due.set((double) timers.countDue());
              } catch (Exception e) {
                log.debug("Could not count the durable timers due: {}", e.toString());
              }
            },
            system.dispatchers().lookup(DispatcherSelector.blocking()));
    ClusterSingleton.get(system)
        .init(
            SingletonActor.of(
                    Behaviors.<Msg>setup(
                        context ->
                            Behaviors.withTimers(
                                t ->
                                    new Poller(context, t, engine, timers, settings, meters)
                                        .idle())),
                    "sagaflow-timer-poller")
                .withStopMessage(Stop.INSTANCE));
  }

  private static final class Poller {
    private final ActorContext<Msg> context;
    private final TimerScheduler<Msg> actorTimers;
    private final SagaEngine engine;
    private final SagaTimers timers;
    private final Settings settings;
    private final Meters meters;
    private final Executor blocking;

    /** Timers read and not deleted yet: set to fire, or fired. By saga id. */
    private final Map<String, SagaTimers.Due> pending = new HashMap<>();

    /** Fired since the last poll, to delete at the next. */
    private List<SagaTimers.Due> fired = new ArrayList<>();

    /** Due, waiting for a wake to be free. */
    private final ArrayDeque<SagaTimers.Due> ready = new ArrayDeque<>();

    private int inFlight;

    private boolean failing;

    Poller(
        ActorContext<Msg> context,
        TimerScheduler<Msg> actorTimers,
        SagaEngine engine,
        SagaTimers timers,
        Settings settings,
        Meters meters) {
      this.context = context;
      this.actorTimers = actorTimers;
      this.engine = engine;
      this.timers = timers;
      this.settings = settings;
      this.meters = meters;
      this.blocking = context.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
      actorTimers.startTimerWithFixedDelay(Poll.INSTANCE, Duration.ZERO, settings.pollInterval());
    }

    Behavior<Msg> idle() {
      return Behaviors.receive(Msg.class)
          .onMessageEquals(Poll.INSTANCE, this::poll)
          .onMessage(Fire.class, this::fire)
          .onMessage(Woken.class, this::woken)
          .onMessage(Polled.class, this::polled)
          .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
          .build();
    }

    /** A poll is running: a poll due meanwhile is skipped (the next one comes soon). */
    private Behavior<Msg> polling() {
      return Behaviors.receive(Msg.class)
          .onMessageEquals(Poll.INSTANCE, Behaviors::same)
          .onMessage(Fire.class, this::fire)
          .onMessage(Woken.class, this::woken)
          .onMessage(Polled.class, this::polled)
          .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
          .build();
    }

    private Behavior<Msg> poll() {
      List<SagaTimers.Due> toDelete = fired;
      fired = new ArrayList<>();
      Instant horizon = Instant.now().plus(settings.lookAhead());
      ActorRef<Msg> self = context.getSelf();
      // The database is read and written off the actor's thread.
      blocking.execute(
          () -> {
            try {
              timers.delete(toDelete);
              self.tell(new Polled(timers.dueBy(horizon, settings.batchSize()), toDelete, null));
            } catch (Exception e) {
              self.tell(new Polled(List.of(), toDelete, e));
            }
          });
      return polling();
    }

    private Behavior<Msg> polled(Polled polled) {
      if (polled.failure() != null) {
        if (!failing) {
          log.warn(
              "Reading the durable timers failed; retrying every {}: {}",
              settings.pollInterval(),
              polled.failure().toString());
        }
        failing = true;
        // Deleted at the next poll (they may be already: then they are fired no more than once).
        fired.addAll(polled.deleted());
        return idle();
      }
      if (failing) {
        log.info("Reading the durable timers works again");
        failing = false;
      }
      for (SagaTimers.Due deleted : polled.deleted()) {
        pending.remove(deleted.sagaId(), deleted);
      }
      Instant now = Instant.now();
      int added = 0;
      for (SagaTimers.Due due : polled.due()) {
        SagaTimers.Due known = pending.get(due.sagaId());
        if (due.equals(known)) {
          continue;
        }
        added++;
        pending.put(due.sagaId(), due);
        Duration delay = Duration.between(now, due.dueAt());
        if (delay.isNegative() || delay.isZero()) {
          fire(due);
        } else {
          actorTimers.startSingleTimer(due.sagaId(), new Fire(due), delay);
        }
      }
      if (polled.due().size() == settings.batchSize() && added > 0) {
        // A full page with new timers: more may be due within the look-ahead.
        context.getSelf().tell(Poll.INSTANCE);
      }
      return idle();
    }

    private Behavior<Msg> fire(Fire fire) {
      if (fire.timer().equals(pending.get(fire.timer().sagaId()))) {
        fire(fire.timer());
      }
      return Behaviors.same();
    }

    private void fire(SagaTimers.Due due) {
      ready.add(due);
      wakeReady();
    }

    private void wakeReady() {
      while (inFlight < settings.maxWakesInFlight() && !ready.isEmpty()) {
        SagaTimers.Due due = ready.poll();
        if (!due.equals(pending.get(due.sagaId()))) {
          continue;
        }
        inFlight++;
        meters.wakes().increment();
        Duration late = Duration.between(due.dueAt(), Instant.now());
        meters.lateness().record(late.isNegative() ? Duration.ZERO : late);
        context.pipeToSelf(
            engine.get(due.sagaId()), (reply, failure) -> new Woken(due, failure == null));
      }
    }

    private Behavior<Msg> woken(Woken woken) {
      inFlight--;
      if (woken.answered()) {
        fired.add(woken.timer());
      } else {
        // Read again at the next poll and fired again: a wake costs a live saga nothing.
        pending.remove(woken.timer().sagaId(), woken.timer());
      }
      wakeReady();
      return Behaviors.same();
    }
  }
}
