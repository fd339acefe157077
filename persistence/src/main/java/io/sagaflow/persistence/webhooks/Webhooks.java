package io.sagaflow.persistence.webhooks;

import com.zaxxer.hikari.HikariDataSource;
import io.micrometer.core.instrument.MeterRegistry;
import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.TagRangeReadJournalDao;
import io.sagaflow.persistence.events.LifecycleEvents;
import io.sagaflow.persistence.index.IndexJdbcSession;
import io.sagaflow.persistence.index.IndexPools;
import io.sagaflow.persistence.index.SagaIndexProjection;
import io.sagaflow.persistence.index.SagaIndexSettings;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.cluster.typed.ClusterSingleton;
import org.apache.pekko.cluster.typed.SingletonActor;
import org.apache.pekko.persistence.jdbc.query.javadsl.JdbcReadJournal;
import org.apache.pekko.persistence.query.Offset;
import org.apache.pekko.projection.ProjectionBehavior;
import org.apache.pekko.projection.ProjectionId;
import org.apache.pekko.projection.eventsourced.javadsl.EventSourcedProvider;
import org.apache.pekko.projection.jdbc.javadsl.JdbcProjection;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import scala.concurrent.ExecutionContextExecutor;

/**
 * Webhook delivery: a cluster singleton reads the subscriptions every {@code poll-interval} and
 * runs one at-least-once JDBC projection of every saga event per active subscription (projection
 * {@code webhook}, keyed by the subscription's id), which delivers in journal order and stores its
 * offset in pekko-projection's offset store. A subscription parked by its projection, or deleted,
 * has its projection stopped; one resumed gets it back, from its stored offset.
 */
public final class Webhooks {
  private static final Logger log = LoggerFactory.getLogger(Webhooks.class);

  private final SubscriptionStore store;

  private Webhooks(SubscriptionStore store) {
    this.store = store;
  }

  /** The subscriptions, for the API. */
  public SubscriptionStore store() {
    return store;
  }

  /**
   * Starts webhook delivery on this node (call once per actor system, before it joins the cluster):
   * its pool (closed when the system terminates), its gauges refreshed every {@code gaugeInterval},
   * and the dispatcher singleton.
   */
  public static Webhooks start(
      ActorSystem<?> system,
      DatabaseSettings db,
      WebhookSettings settings,
      LifecycleEvents events,
      WebhookDelivery delivery,
      MeterRegistry meters,
      Duration gaugeInterval) {
    HikariDataSource pool =
        IndexPools.forWebhooks(
            db, SagaIndexSettings.fromConfig(system.settings().config()), settings, meters);
    system.getWhenTerminated().thenRun(pool::close);
    var store =
        new SubscriptionStore(pool, SagaIndexProjection.offsetTable(system.settings().config()));
    var metrics = new WebhookMetrics(meters);
    ExecutionContextExecutor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    var failing = new AtomicBoolean();
    system
        .scheduler()
        .scheduleWithFixedDelay(
            Duration.ZERO,
            gaugeInterval,
            () -> {
              try {
                metrics.update(store.read());
                failing.set(false);
              } catch (RuntimeException e) {
                if (!failing.getAndSet(true)) {
                  log.warn("Could not read the webhook gauges: {}", e.getMessage());
                }
              }
            },
            blocking);
    var dispatcher =
        new Dispatcher(system, pool, store, settings, events, delivery, metrics, blocking);
    ClusterSingleton.get(system)
        .init(
            SingletonActor.of(
                Behaviors.supervise(dispatcher.create())
                    .onFailure(
                        SupervisorStrategy.restartWithBackoff(
                            Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2)),
                "sagaflow-webhooks"));
    return new Webhooks(store);
  }

  /** The singleton: one running projection per active subscription. */
  private static final class Dispatcher {
    sealed interface Command {}

    private enum Poll implements Command {
      INSTANCE
    }

    private record Read(List<Subscription> subscriptions) implements Command {}

    private record ReadFailed(Throwable error) implements Command {}

    private record Parked(String id) implements Command {}

    private record Stopped(String id) implements Command {}

    /** A subscription's projection; {@code stopped} halts its retries once it is told to stop. */
    private record Running(
        ActorRef<ProjectionBehavior.Command> projection, AtomicBoolean stopped, boolean stopping) {}

    private final ActorSystem<?> system;
    private final HikariDataSource pool;
    private final SubscriptionStore store;
    private final WebhookSettings settings;
    private final LifecycleEvents events;
    private final WebhookDelivery delivery;
    private final WebhookMetrics metrics;
    private final Executor blocking;
    private final AtomicLong incarnation = new AtomicLong();

    Dispatcher(
        ActorSystem<?> system,
        HikariDataSource pool,
        SubscriptionStore store,
        WebhookSettings settings,
        LifecycleEvents events,
        WebhookDelivery delivery,
        WebhookMetrics metrics,
        Executor blocking) {
      this.system = system;
      this.pool = pool;
      this.store = store;
      this.settings = settings;
      this.events = events;
      this.delivery = delivery;
      this.metrics = metrics;
      this.blocking = blocking;
    }

    Behavior<Command> create() {
      return Behaviors.setup(
          ctx ->
              Behaviors.withTimers(
                  timers -> {
                    timers.startTimerWithFixedDelay(
                        Poll.INSTANCE, Duration.ZERO, settings.pollInterval());
                    return running(ctx, new HashMap<>(), false);
                  }));
    }

    private Behavior<Command> running(
        ActorContext<Command> ctx, Map<String, Running> projections, boolean reading) {
      return Behaviors.receive(Command.class)
          .onMessage(Poll.class, p -> poll(ctx, projections, reading))
          .onMessage(Read.class, r -> reconcile(ctx, projections, r.subscriptions()))
          .onMessage(
              ReadFailed.class,
              f -> {
                log.warn("Could not read the webhook subscriptions: {}", f.error().getMessage());
                return running(ctx, projections, false);
              })
          .onMessage(Parked.class, p -> stop(ctx, projections, p.id()))
          .onMessage(
              Stopped.class,
              s -> {
                projections.remove(s.id());
                return running(ctx, projections, reading);
              })
          .onSignal(
              PostStop.class,
              signal -> {
                // Handed over or shut down: retries in flight here stop; the next node resumes
                // from the stored offsets.
                projections.values().forEach(r -> r.stopped().set(true));
                return Behaviors.same();
              })
          .build();
    }

    private Behavior<Command> poll(
        ActorContext<Command> ctx, Map<String, Running> projections, boolean reading) {
      if (reading) {
        return Behaviors.same();
      }
      ctx.pipeToSelf(
          CompletableFuture.supplyAsync(store::list, blocking),
          (list, error) -> error == null ? new Read(list) : new ReadFailed(error));
      return running(ctx, projections, true);
    }

    private Behavior<Command> reconcile(
        ActorContext<Command> ctx, Map<String, Running> projections, List<Subscription> all) {
      var active = new HashMap<String, Subscription>();
      for (Subscription s : all) {
        if (s.status() == Subscription.Status.ACTIVE) {
          active.put(s.id(), s);
        }
      }
      for (String id : List.copyOf(projections.keySet())) {
        if (!active.containsKey(id)) {
          stop(ctx, projections, id);
        }
      }
      for (Subscription s : active.values()) {
        if (!projections.containsKey(s.id())) {
          var stopped = new AtomicBoolean();
          var projection =
              ctx.spawn(
                  projection(ctx.getSelf(), s, stopped),
                  "webhook-" + incarnation.incrementAndGet());
          ctx.watchWith(projection, new Stopped(s.id()));
          projections.put(s.id(), new Running(projection, stopped, false));
          // Without the query, which may carry a token of the receiver's.
          log.info("Delivering webhook {} to {}", s.id(), s.url().replaceFirst("\\?.*", "?…"));
        }
      }
      return running(ctx, projections, false);
    }

    private Behavior<Command> stop(
        ActorContext<Command> ctx, Map<String, Running> projections, String id) {
      Running running = projections.get(id);
      if (running != null && !running.stopping()) {
        running.stopped().set(true);
        running.projection().tell(ProjectionBehavior.stopMessage());
        projections.put(id, new Running(running.projection(), running.stopped(), true));
      }
      return Behaviors.same();
    }

    private Behavior<ProjectionBehavior.Command> projection(
        ActorRef<Command> self, Subscription subscription, AtomicBoolean stopped) {
      var all =
          EventSourcedProvider.<Object>eventsByTag(
              system, JdbcReadJournal.Identifier(), TagRangeReadJournalDao.ALL_SAGA_EVENTS);
      var parked = new AtomicBoolean();
      return ProjectionBehavior.create(
          JdbcProjection.atLeastOnceAsync(
                  ProjectionId.of(SubscriptionStore.PROJECTION_NAME, subscription.id()),
                  new StartingAfter(all, Offset.sequence(subscription.startOffset())),
                  () -> new IndexJdbcSession(pool),
                  () ->
                      new DeliveryHandler(
                          system,
                          subscription,
                          events,
                          delivery,
                          store,
                          settings,
                          metrics,
                          blocking,
                          parked,
                          stopped,
                          id -> self.tell(new Parked(id))),
                  system)
              .withSaveOffset(
                  settings.saveOffsetAfterEnvelopes(), settings.saveOffsetAfterDuration())
              .withRestartBackoff(settings.minBackoff(), settings.maxBackoff(), settings.jitter()));
    }
  }
}
