package io.sagaflow.node;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.sagaflow.orchestrator.SagaEngine;
import io.sagaflow.orchestrator.telemetry.NodeMetrics;
import io.sagaflow.persistence.index.SagaIndex;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.ClusterEvent;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SingletonActor;
import org.apache.pekko.cluster.typed.Subscribe;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Wakes every saga the index lists as unfinished and unchanged since the sweep began, except those
 * durably waiting: a saga that left memory to wait has a durable timer ({@code saga_timer}), and
 * while it has written nothing to the journal since, its timer wakes it (see {@code TimerPoller}),
 * so the sweep no longer recovers every waiting saga every interval. Waking a live saga does
 * nothing; one whose node was lost, or that was stopped with the whole cluster, resumes. A saga
 * whose status changed after the sweep began is alive, or its node was lost after that and the
 * sweep of that node's removal finds it (the time is the sweeping node's clock against the saga's
 * node's: a clock ahead by more than the time it takes to remove a lost node defers such a saga to
 * the next periodic sweep). This is how sagas recover (saga entities are not remembered by sharding
 * unless {@code sagaflow.engine.remember-entities} is on):
 *
 * <ul>
 *   <li>when the sweep starts, i.e. when the cluster (or its oldest node) starts;
 *   <li>when a member is removed from the cluster (crashed and downed, or left);
 *   <li>every {@code sagaflow.recovery.sweep-interval}, as a safety net.
 * </ul>
 *
 * <p>A sweep wakes what the index lists at once, then waits until the index has applied every
 * status change the journal held when the sweep began (at most {@code
 * sagaflow.recovery.catch-up-timeout}) and wakes what it lists then, so that a saga started just
 * before a crash, not yet indexed at first, is not missed. A saga handed over to another node while
 * running (a rebalance or a graceful leave) wakes itself there (see {@code SagaEntity}); the sweep
 * does not wait for that. Runs as a cluster singleton; sweeps never overlap.
 *
 * <p>Counted as {@code sagaflow_recovery_sweeps_total} (sweeps run, failed ones too) and {@code
 * sagaflow_recovery_sagas_woken_total}, on the node the singleton runs on.
 */
final class RecoverySweep {
  private static final int PAGE = 500;
  private static final Duration CATCH_UP_POLL = Duration.ofMillis(200);
  private static final Logger log = LoggerFactory.getLogger(RecoverySweep.class);

  private RecoverySweep() {}

  private sealed interface Msg {}

  private record Trigger(String reason) implements Msg {}

  private record MemberRemoved(ClusterEvent.MemberRemoved event) implements Msg {}

  private record Swept(String reason, int woken, Optional<Throwable> failure) implements Msg {}

  private enum Stop implements Msg {
    INSTANCE
  }

  /** The sweep's settings, from {@code sagaflow.recovery}. */
  record Settings(Duration interval, Duration catchUpTimeout, String offsetTable) {}

  /** The sweep's counters. */
  private record Meters(Counter sweeps, Counter woken) {
    static Meters in(MeterRegistry registry) {
      return new Meters(
          Counter.builder("sagaflow.recovery.sweeps")
              .description("Recovery sweeps run (on the node that runs the sweep)")
              .register(registry),
          Counter.builder("sagaflow.recovery.sagas.woken")
              .description("Unfinished sagas the recovery sweeps woke")
              .register(registry));
    }
  }

  private static Behavior<Msg> create(
      SagaEngine engine, SagaIndex index, Settings settings, Meters meters) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers -> {
                  ActorRef<ClusterEvent.MemberRemoved> removals =
                      context.messageAdapter(ClusterEvent.MemberRemoved.class, MemberRemoved::new);
                  Cluster.get(context.getSystem())
                      .subscriptions()
                      .tell(Subscribe.create(removals, ClusterEvent.MemberRemoved.class));
                  timers.startTimerWithFixedDelay(
                      new Trigger("periodic"), settings.interval(), settings.interval());
                  context.getSelf().tell(new Trigger("start"));
                  Executor blocking =
                      context.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
                  return new Sweeper(context, engine, index, settings, blocking, meters).idle();
                }));
  }

  /** Runs one sweep at a time; a trigger during a sweep runs one more afterwards. */
  private static final class Sweeper {
    private final ActorContext<Msg> context;
    private final SagaEngine engine;
    private final SagaIndex index;
    private final Settings settings;
    private final Executor blocking;
    private final Meters meters;

    Sweeper(
        ActorContext<Msg> context,
        SagaEngine engine,
        SagaIndex index,
        Settings settings,
        Executor blocking,
        Meters meters) {
      this.context = context;
      this.engine = engine;
      this.index = index;
      this.settings = settings;
      this.blocking = blocking;
      this.meters = meters;
    }

    Behavior<Msg> idle() {
      return Behaviors.receive(Msg.class)
          .onMessage(Trigger.class, t -> sweep(t.reason()))
          .onMessage(MemberRemoved.class, m -> sweep(removedReason(m)))
          .onMessage(Swept.class, this::report)
          .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
          .build();
    }

    private Behavior<Msg> sweeping(Optional<String> next) {
      return Behaviors.receive(Msg.class)
          .onMessage(Trigger.class, t -> sweeping(Optional.of(next.orElse(t.reason()))))
          .onMessage(MemberRemoved.class, m -> sweeping(Optional.of(next.orElse(removedReason(m)))))
          .onMessage(
              Swept.class,
              s -> {
                report(s);
                return next.isPresent() ? sweep(next.get()) : idle();
              })
          .onMessageEquals(Stop.INSTANCE, Behaviors::stopped)
          .build();
    }

    private Behavior<Msg> sweep(String reason) {
      ActorRef<Msg> self = context.getSelf();
      // The database is read and polled off the actor's thread.
      blocking.execute(
          () -> {
            try {
              self.tell(new Swept(reason, run(), Optional.empty()));
            } catch (RuntimeException | InterruptedException e) {
              self.tell(new Swept(reason, 0, Optional.of(e)));
            }
          });
      return sweeping(Optional.empty());
    }

    private Behavior<Msg> report(Swept swept) {
      meters.sweeps().increment();
      meters.woken().increment(swept.woken());
      if (swept.failure().isPresent()) {
        log.warn(
            "Recovery sweep ({}) failed; the next one retries: {}",
            swept.reason(),
            swept.failure().get().toString());
      } else if (swept.woken() > 0) {
        log.info("Recovery sweep ({}) woke {} unfinished sagas", swept.reason(), swept.woken());
      }
      return Behaviors.same();
    }

    private static String removedReason(MemberRemoved removed) {
      return "member " + removed.event().member().address() + " removed";
    }

    private int run() throws InterruptedException {
      // A saga whose status changed after this moment is alive (under load: hundreds started
      // since, not yet indexed as ended, and passivated once ended, so waking them would recover
      // each from the journal for nothing).
      Instant began = Instant.now();
      // What the index lists already is woken at once: a crashed node's sagas resume without
      // waiting for the index, whose projection may itself have run on that node and be
      // restarting. Once the index has caught up, what it lists then is woken too (sagas started
      // just before the crash, indexed since).
      Set<String> woken = new HashSet<>();
      wakeListed(began, woken);
      awaitIndexCaughtUp();
      wakeListed(began, woken);
      return woken.size();
    }

    private void wakeListed(Instant began, Set<String> woken) {
      Optional<String> after = Optional.empty();
      while (true) {
        List<String> ids = index.nonTerminal(PAGE, after, began);
        for (String id : ids) {
          if (woken.add(id)) {
            engine.wake(id);
          }
        }
        if (ids.size() < PAGE) {
          return;
        }
        after = Optional.of(ids.get(ids.size() - 1));
      }
    }

    private void awaitIndexCaughtUp() throws InterruptedException {
      Map<String, Long> head = index.journalHead();
      Instant deadline = Instant.now().plus(settings.catchUpTimeout());
      while (!index.hasApplied(head, settings.offsetTable())) {
        if (Instant.now().isAfter(deadline)) {
          log.warn(
              "The saga index has not caught up with the journal within {}; sweeping what it"
                  + " lists (the next sweep covers the rest)",
              settings.catchUpTimeout());
          return;
        }
        Thread.sleep(CATCH_UP_POLL.toMillis());
      }
    }
  }

  /** Runs the sweep as a cluster singleton: one per cluster, moved when its node leaves. */
  static void start(ActorSystem<?> system, SagaEngine engine, SagaIndex index, Settings settings) {
    // Made on every node, so that each shows its counts (zero where the singleton never ran).
    var meters = Meters.in(NodeMetrics.get(system.classicSystem()).registry());
    ClusterSingleton.get(system)
        .init(
            SingletonActor.of(create(engine, index, settings, meters), "sagaflow-recovery-sweep")
                .withStopMessage(Stop.INSTANCE));
  }
}
