package io.sagaflow.orchestrator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagaflow.orchestrator.SagaReplies.GetReply;
import io.sagaflow.orchestrator.SagaReplies.OperatorReply;
import io.sagaflow.orchestrator.SagaReplies.StartReply;
import io.sagaflow.orchestrator.internal.ParticipantClient;
import io.sagaflow.orchestrator.internal.StepRunner;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.apache.pekko.Done;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.apache.pekko.actor.typed.Scheduler;
import org.apache.pekko.actor.typed.javadsl.AskPattern;
import org.apache.pekko.cluster.sharding.ShardRegion;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingQuery;
import org.apache.pekko.cluster.sharding.typed.ClusterShardingSettings;
import org.apache.pekko.cluster.sharding.typed.GetShardRegionState;
import org.apache.pekko.cluster.sharding.typed.HashCodeMessageExtractor;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.Entity;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityRef;
import org.apache.pekko.serialization.jackson.JacksonObjectMapperProvider;
import scala.concurrent.ExecutionContextExecutor;

/**
 * The engine's front door on one node: runs saga entities under Cluster Sharding and asks them to
 * start, report, cancel, resume or wake.
 */
public final class SagaEngine {
  private final ClusterSharding sharding;
  private final SagaRegistry registry;
  private final Duration askTimeout;
  private final Duration resendInterval;
  private final int maxStartsInFlight;
  private final ExecutionContextExecutor callbacks;
  private final Scheduler scheduler;
  private final AtomicInteger startsInFlight = new AtomicInteger();

  private SagaEngine(
      ClusterSharding sharding,
      SagaRegistry registry,
      Duration askTimeout,
      Duration resendInterval,
      int maxStartsInFlight,
      ExecutionContextExecutor callbacks,
      Scheduler scheduler) {
    if (resendInterval.isNegative() || resendInterval.isZero()) {
      throw new IllegalArgumentException(
          "sagaflow.engine.resend-interval must be positive: " + resendInterval);
    }
    this.sharding = sharding;
    this.registry = registry;
    this.askTimeout = askTimeout;
    this.resendInterval = resendInterval;
    this.maxStartsInFlight = maxStartsInFlight;
    this.callbacks = callbacks;
    this.scheduler = scheduler;
  }

  /**
   * A start refused because this node already has {@code sagaflow.engine.max-starts-in-flight}
   * starts waiting for their {@code SagaStarted} to be written: nothing was started, and a retry
   * later (with the same saga id) is safe. Refusing at once keeps the starts already accepted
   * within the ask timeout instead of letting every one of them time out with an unknown outcome.
   */
  public static final class OverloadedException extends RuntimeException {
    public OverloadedException(String message) {
      super(message, null, false, false);
    }
  }

  /** Starts sharding for saga entities on this node. */
  /** The config path of the dispatcher local steps run on. */
  public static final String LOCAL_STEPS_DISPATCHER = "sagaflow.engine.local-steps-dispatcher";

  public static SagaEngine init(
      ActorSystem<?> system, SagaRegistry registry, ParticipantClient client) {
    return init(system, registry, client, SagaTelemetry.NONE);
  }

  /** Starts sharding for saga entities on this node; every saga tells {@code telemetry}. */
  public static SagaEngine init(
      ActorSystem<?> system,
      SagaRegistry registry,
      ParticipantClient client,
      SagaTelemetry telemetry) {
    return init(system, registry, client, telemetry, DurableTimers.NONE);
  }

  /**
   * As {@link #init(ActorSystem, SagaRegistry, ParticipantClient, SagaTelemetry)}; a saga that
   * waits at least {@code sagaflow.timers.durable-from} writes its due time to {@code timers} and
   * leaves memory until it is woken.
   */
  public static SagaEngine init(
      ActorSystem<?> system,
      SagaRegistry registry,
      ParticipantClient client,
      SagaTelemetry telemetry,
      DurableTimers timers) {
    var waits =
        new DurableTimers.Waits(
            timers, system.settings().config().getDuration("sagaflow.timers.durable-from"));
    var config = system.settings().config().getConfig("sagaflow.engine");
    StepRunner runner =
        new StepRunner(
            client,
            objectMapper(system),
            system.dispatchers().lookup(DispatcherSelector.fromConfig(LOCAL_STEPS_DISPATCHER)));
    var sharding = ClusterSharding.get(system);
    // Sagas are not remembered by default: remembering costs two journal writes and a shard-store
    // round trip per saga (a third of the throughput, see BENCHMARKS.md). In-flight sagas wake up
    // instead through the node's recovery sweep (start, member removed, periodic) and, when handed
    // over to another node, by waking themselves (SagaEntity's Stop). Set in code, not only in
    // reference.conf, whose merge order with pekko-cluster-sharding's own would decide the value.
    var settings = ClusterShardingSettings.create(system);
    if (config.getBoolean("remember-entities")) {
      settings =
          settings
              .withRememberEntities(true)
              .withRememberEntitiesStoreMode(
                  ClusterShardingSettings.rememberEntitiesStoreModeEventSourced());
    } else {
      // A saga passivates by itself only: once finished or FAILED, or, waiting long enough to
      // have written its due time (sagaflow.timers), for its durable timer to wake it. Sharding's
      // idle passivation would stop sagas waiting in memory on their actor timers.
      settings = settings.withRememberEntities(false).withNoPassivationStrategy();
    }
    sharding.init(
        Entity.of(
                SagaEntity.ENTITY_TYPE_KEY,
                ctx ->
                    SagaEntity.create(
                        ctx.getEntityId(),
                        ctx.getShard(),
                        registry,
                        runner,
                        Clock.systemUTC(),
                        telemetry,
                        waits))
            .withStopMessage(new SagaEntity.Stop())
            .withMessageExtractor(
                new HashCodeMessageExtractor<SagaEntity.Command>(config.getInt("number-of-shards")))
            .withSettings(settings));
    return new SagaEngine(
        sharding,
        registry,
        config.getDuration("ask-timeout"),
        config.getDuration("resend-interval"),
        config.getInt("max-starts-in-flight"),
        system.executionContext(),
        system.scheduler());
  }

  /** This node's saga shards and the saga entities alive in them, as sharding reports them. */
  public CompletionStage<ShardRegion.CurrentShardRegionState> localShards() {
    return plain(
        AskPattern.<ClusterShardingQuery, ShardRegion.CurrentShardRegionState>ask(
            sharding.shardState(),
            replyTo -> new GetShardRegionState(SagaEntity.ENTITY_TYPE_KEY, replyTo),
            askTimeout,
            scheduler));
  }

  /** The JSON mapper Pekko uses for the journal, so that outputs and events agree. */
  public static ObjectMapper objectMapper(ActorSystem<?> system) {
    return JacksonObjectMapperProvider.get(system).getOrCreate("jackson-json", Optional.empty());
  }

  public SagaRegistry registry() {
    return registry;
  }

  /**
   * Answers once {@code SagaStarted} is written (or the id proves taken, or the start invalid).
   * Fails with {@link OverloadedException} when too many starts are already waiting.
   */
  public CompletionStage<StartReply> start(
      String sagaId, String type, Integer version, JsonNode input) {
    return start(sagaId, type, version, input, null);
  }

  /**
   * As {@link #start(String, String, Integer, JsonNode)}, continuing the trace {@code traceparent}
   * (a W3C header value; null or invalid starts a new trace).
   */
  public CompletionStage<StartReply> start(
      String sagaId, String type, Integer version, JsonNode input, String traceparent) {
    if (startsInFlight.incrementAndGet() > maxStartsInFlight) {
      startsInFlight.decrementAndGet();
      return CompletableFuture.failedFuture(
          new OverloadedException(
              "this node has "
                  + maxStartsInFlight
                  + " starts waiting for the journal (sagaflow.engine.max-starts-in-flight)"));
    }
    CompletionStage<StartReply> reply =
        askResending(
            sagaId,
            (ActorRef<StartReply> replyTo) ->
                new SagaEntity.Start(type, version, input, traceparent, replyTo));
    reply.whenComplete((r, e) -> startsInFlight.decrementAndGet());
    return reply;
  }

  public CompletionStage<GetReply> get(String sagaId) {
    return askResending(sagaId, SagaEntity.Get::new);
  }

  public CompletionStage<OperatorReply> cancel(String sagaId, String commandId, String reason) {
    return askResending(
        sagaId,
        (ActorRef<OperatorReply> replyTo) -> new SagaEntity.Cancel(commandId, reason, replyTo));
  }

  /**
   * Delivers the signal {@code name} with {@code payload} (null for none) to the saga; {@code
   * commandId} is its idempotency key.
   */
  public CompletionStage<OperatorReply> signal(
      String sagaId, String name, String commandId, JsonNode payload) {
    return askResending(
        sagaId,
        (ActorRef<OperatorReply> replyTo) ->
            new SagaEntity.Signal(name, payload, commandId, replyTo));
  }

  public CompletionStage<OperatorReply> resume(String sagaId, String commandId) {
    return askResending(
        sagaId, (ActorRef<OperatorReply> replyTo) -> new SagaEntity.Resume(commandId, replyTo));
  }

  /**
   * Asks the saga and, while no answer has come, sends the same message again every {@code
   * sagaflow.engine.resend-interval} until the ask timeout. A message sent to a shard whose node
   * just died is lost without a trace (the region still routes it there until the node is removed
   * from the cluster), and the caller would wait out the whole ask timeout although the shard has
   * moved meanwhile. The repeats are safe: a start is deduplicated by the saga id and its input, an
   * operator command by its command id, and a read changes nothing. Every repeat carries the same
   * reply address, by which the entity knows it for the repeat of one it answered already and does
   * not answer or count it again.
   */
  private <R, M extends SagaEntity.Command> CompletionStage<R> askResending(
      String sagaId, Function<ActorRef<R>, M> message) {
    EntityRef<SagaEntity.Command> entity = entity(sagaId);
    var sent = new AtomicReference<M>();
    CompletionStage<R> ask =
        entity.ask(
            replyTo -> {
              M m = message.apply(replyTo);
              sent.set(m);
              return m;
            },
            askTimeout);
    CompletionStage<R> reply = plain(ask);
    long deadline = System.nanoTime() + askTimeout.toNanos();
    resendUnlessAnswered(entity, sent.get(), reply.toCompletableFuture(), deadline);
    return reply;
  }

  private void resendUnlessAnswered(
      EntityRef<SagaEntity.Command> entity,
      SagaEntity.Command message,
      CompletableFuture<?> reply,
      long deadline) {
    if (System.nanoTime() + resendInterval.toNanos() >= deadline) {
      return;
    }
    scheduler.scheduleOnce(
        resendInterval,
        () -> {
          if (!reply.isDone()) {
            entity.tell(message);
            resendUnlessAnswered(entity, message, reply, deadline);
          }
        },
        callbacks);
  }

  /**
   * The answer of an ask as a plain {@link CompletableFuture}, completed on Pekko's default
   * dispatcher. An ask's own stage (Scala's Future adapter) runs even non-async callbacks through
   * {@code ForkJoinPool.commonPool()}, which on a machine with fewer than 3 CPUs means a new thread
   * for every callback.
   */
  private <T> CompletionStage<T> plain(CompletionStage<T> ask) {
    var result = new CompletableFuture<T>();
    ask.whenCompleteAsync(
        (value, failure) -> {
          if (failure != null) {
            result.completeExceptionally(failure);
          } else {
            result.complete(value);
          }
        },
        callbacks);
    return result;
  }

  /**
   * Wakes a saga that may have been lost with a node; harmless for a live one. Completes once the
   * saga is in memory, recovered, on whichever node owns it; sent again while unanswered, since a
   * wake sent while the lost node's shards are still moving is lost on the way.
   */
  public CompletionStage<Done> wake(String sagaId) {
    return askResending(sagaId, SagaEntity.Wake::new);
  }

  private EntityRef<SagaEntity.Command> entity(String sagaId) {
    return sharding.entityRefFor(SagaEntity.ENTITY_TYPE_KEY, sagaId);
  }
}
