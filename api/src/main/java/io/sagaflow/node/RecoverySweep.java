package io.sagaflow.node;

import io.sagaflow.orchestrator.SagaEngine;
import io.sagaflow.persistence.index.SagaIndex;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SingletonActor;

/**
 * The safety net behind remembered entities: now and then, wakes every saga the index lists as not
 * finished. Waking a live saga does nothing; one lost with a node resumes. Runs as a cluster
 * singleton; with nothing unfinished it costs one indexed query per round.
 */
final class RecoverySweep {
  private static final int PAGE = 500;

  private RecoverySweep() {}

  private enum Tick {
    INSTANCE,
    STOP
  }

  private static Behavior<Tick> create(
      SagaEngine engine, SagaIndex index, Duration initialDelay, Duration interval) {
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers -> {
                  timers.startTimerWithFixedDelay(Tick.INSTANCE, initialDelay, interval);
                  var blocking =
                      context.getSystem().dispatchers().lookup(DispatcherSelector.blocking());
                  // The actor's logger may only be used on its own thread: take a plain one along.
                  var log = org.slf4j.LoggerFactory.getLogger(RecoverySweep.class);
                  return Behaviors.receiveMessage(
                      tick -> {
                        if (tick == Tick.STOP) {
                          return Behaviors.stopped();
                        }
                        // Paging reads the database: off the actor's thread.
                        blocking.execute(() -> sweep(engine, index, log));
                        return Behaviors.same();
                      });
                }));
  }

  /** Runs the sweep as a cluster singleton: one per cluster, moved when its node leaves. */
  static void start(
      ActorSystem<?> system,
      SagaEngine engine,
      SagaIndex index,
      Duration initialDelay,
      Duration interval) {
    ClusterSingleton.get(system)
        .init(
            SingletonActor.of(
                    create(engine, index, initialDelay, interval), "sagaflow-recovery-sweep")
                .withStopMessage(Tick.STOP));
  }

  private static void sweep(SagaEngine engine, SagaIndex index, org.slf4j.Logger log) {
    try {
      int woken = 0;
      Optional<String> after = Optional.empty();
      while (true) {
        List<String> ids = index.nonTerminal(PAGE, after);
        ids.forEach(engine::wake);
        woken += ids.size();
        if (ids.size() < PAGE) {
          break;
        }
        after = Optional.of(ids.get(ids.size() - 1));
      }
      if (woken > 0) {
        log.debug("Recovery sweep woke {} unfinished sagas", woken);
      }
    } catch (RuntimeException e) {
      log.warn("Recovery sweep failed; the next round retries: {}", e.getMessage());
    }
  }
}
