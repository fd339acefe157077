package io.sagaflow.node;

import io.sagaflow.persistence.JournalHealth;
import java.time.Duration;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.persistence.typed.PersistenceId;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.RecoveryFailed;
import org.apache.pekko.persistence.typed.SnapshotSelectionCriteria;
import org.apache.pekko.persistence.typed.javadsl.CommandHandler;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehavior;
import org.apache.pekko.persistence.typed.javadsl.Recovery;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * Probes the journal on a schedule of its own, the way a new saga first uses it: a persistent actor
 * that recovers (the highest-sequence-number query, through the journal plugin's circuit breaker)
 * and stops. Its outcomes go to {@link JournalHealth}, which the readiness check reads; so
 * readiness sees the breaker, and once the database is back the probe is the call that closes the
 * breaker even when no start arrives (a node that is not ready gets none). Nothing is ever written:
 * the probe's persistence ids stay empty.
 */
final class JournalProbe {

  /** How often the journal is probed, and how long a probe may take before it counts as failed. */
  record Settings(Duration interval, Duration timeout) {}

  private sealed interface Message {}

  private record Tick() implements Message {}

  private record Answered(long probe, Throwable failure) implements Message {}

  private record TimedOut(long probe) implements Message {}

  private final ActorContext<Message> context;
  private final TimerScheduler<Message> timers;
  private final Settings settings;
  private final JournalHealth health;

  private JournalProbe(
      ActorContext<Message> context,
      TimerScheduler<Message> timers,
      Settings settings,
      JournalHealth health) {
    this.context = context;
    this.timers = timers;
    this.settings = settings;
    this.health = health;
  }

  static void start(ActorSystem<?> system, Settings settings) {
    JournalHealth health = JournalHealth.get(Adapter.toClassic(system));
    system.systemActorOf(
        Behaviors.<Message>setup(
            context ->
                Behaviors.withTimers(
                    timers -> {
                      timers.startTimerWithFixedDelay(new Tick(), settings.interval());
                      context.getSelf().tell(new Tick());
                      return new JournalProbe(context, timers, settings, health).idle(0);
                    })),
        "sagaflow-journal-probe",
        Props.empty());
  }

  private Behavior<Message> idle(long probes) {
    return Behaviors.receive(Message.class)
        .onMessage(Tick.class, tick -> probe(probes + 1))
        .onAnyMessage(stale -> Behaviors.same())
        .build();
  }

  private Behavior<Message> probe(long probe) {
    ActorRef<Void> recovering =
        context.spawn(
            Behaviors.supervise(recovery(probe, context.getSelf()))
                .onFailure(SupervisorStrategy.stop().withLoggingEnabled(false)),
            "probe-" + probe);
    timers.startSingleTimer(new TimedOut(probe), settings.timeout());
    return probing(probe, recovering);
  }

  private Behavior<Message> probing(long probe, ActorRef<Void> recovering) {
    return Behaviors.receive(Message.class)
        .onMessage(
            Answered.class,
            answer -> answer.probe() == probe,
            answer -> finished(probe, recovering, answer.failure()))
        .onMessage(
            TimedOut.class,
            timedOut -> timedOut.probe() == probe,
            timedOut ->
                finished(
                    probe,
                    recovering,
                    new TimeoutException(
                        "the journal did not answer a probe within " + settings.timeout())))
        // A tick while a probe runs is dropped: one probe at a time.
        .onAnyMessage(other -> Behaviors.same())
        .build();
  }

  /**
   * Reports the probe's outcome ({@code failure} null: it answered) and waits for the next tick.
   */
  private Behavior<Message> finished(long probe, ActorRef<Void> recovering, Throwable failure) {
    if (failure == null) {
      health.succeeded();
    } else {
      health.failed(failure);
    }
    timers.cancel(new TimedOut(probe));
    context.stop(recovering);
    return idle(probe);
  }

  private static Behavior<Void> recovery(long probe, ActorRef<Message> replyTo) {
    return Behaviors.setup(
        context ->
            new Recovering(
                PersistenceId.ofUniqueId("sagaflow-journal-probe-" + probe), probe, replyTo));
  }

  /** Recovers, reports, and waits to be stopped; it has no commands and writes nothing. */
  private static final class Recovering extends EventSourcedBehavior<Void, Object, Object> {
    private final long probe;
    private final ActorRef<Message> replyTo;

    Recovering(PersistenceId id, long probe, ActorRef<Message> replyTo) {
      super(id);
      this.probe = probe;
      this.replyTo = replyTo;
    }

    @Override
    public Object emptyState() {
      return "";
    }

    @Override
    public CommandHandler<Void, Object, Object> commandHandler() {
      return newCommandHandlerBuilder().forAnyState().build();
    }

    @Override
    public EventHandler<Object, Object> eventHandler() {
      return newEventHandlerBuilder().forAnyState().onAnyEvent((state, event) -> state);
    }

    @Override
    public SignalHandler<Object> signalHandler() {
      return newSignalHandlerBuilder()
          .onSignal(RecoveryCompleted.instance(), state -> replyTo.tell(new Answered(probe, null)))
          .onSignal(
              RecoveryFailed.class,
              (state, failed) -> replyTo.tell(new Answered(probe, failed.getFailure())))
          .build();
    }

    /** As a saga's: no snapshots, so the recovery is the journal's alone. */
    @Override
    public Recovery recovery() {
      return Recovery.withSnapshotSelectionCriteria(SnapshotSelectionCriteria.none());
    }
  }
}
