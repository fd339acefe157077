package io.sagaflow.orchestrator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import io.sagaflow.orchestrator.SagaReplies.Accepted;
import io.sagaflow.orchestrator.SagaReplies.Conflict;
import io.sagaflow.orchestrator.SagaReplies.Done;
import io.sagaflow.orchestrator.SagaReplies.Found;
import io.sagaflow.orchestrator.SagaReplies.GetReply;
import io.sagaflow.orchestrator.SagaReplies.Invalid;
import io.sagaflow.orchestrator.SagaReplies.NotFound;
import io.sagaflow.orchestrator.SagaReplies.OperatorReply;
import io.sagaflow.orchestrator.SagaReplies.Refused;
import io.sagaflow.orchestrator.SagaReplies.StartReply;
import io.sagaflow.orchestrator.SagaReplies.UnknownSignal;
import io.sagaflow.orchestrator.dsl.AwaitSignal;
import io.sagaflow.orchestrator.dsl.FanOut;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.RetryPolicy;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Stage;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepAction;
import io.sagaflow.orchestrator.dsl.StepKind;
import io.sagaflow.orchestrator.fence.NodeFence;
import io.sagaflow.orchestrator.history.Cursor;
import io.sagaflow.orchestrator.history.GroupRun;
import io.sagaflow.orchestrator.history.Phase;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaEvent.BranchFailed;
import io.sagaflow.orchestrator.history.SagaEvent.BranchSettled;
import io.sagaflow.orchestrator.history.SagaEvent.BranchSucceeded;
import io.sagaflow.orchestrator.history.SagaEvent.BranchesStarted;
import io.sagaflow.orchestrator.history.SagaEvent.CompensationAttemptFailed;
import io.sagaflow.orchestrator.history.SagaEvent.CompensationFailed;
import io.sagaflow.orchestrator.history.SagaEvent.CompensationSkipped;
import io.sagaflow.orchestrator.history.SagaEvent.CompensationStarted;
import io.sagaflow.orchestrator.history.SagaEvent.SagaCompleted;
import io.sagaflow.orchestrator.history.SagaEvent.SagaFailed;
import io.sagaflow.orchestrator.history.SagaEvent.SagaResumed;
import io.sagaflow.orchestrator.history.SagaEvent.SagaStarted;
import io.sagaflow.orchestrator.history.SagaEvent.SignalReceived;
import io.sagaflow.orchestrator.history.SagaEvent.StepAttemptFailed;
import io.sagaflow.orchestrator.history.SagaEvent.StepCompensated;
import io.sagaflow.orchestrator.history.SagaEvent.StepFailed;
import io.sagaflow.orchestrator.history.SagaEvent.StepFailedAfterPivot;
import io.sagaflow.orchestrator.history.SagaEvent.StepSucceeded;
import io.sagaflow.orchestrator.history.SagaHistory;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import io.sagaflow.orchestrator.history.SagaSnapshot.Started;
import io.sagaflow.orchestrator.history.StepSnapshot;
import io.sagaflow.orchestrator.internal.Fingerprint;
import io.sagaflow.orchestrator.internal.Outcome;
import io.sagaflow.orchestrator.internal.StepRunner;
import io.sagaflow.orchestrator.telemetry.SagaTelemetry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.PostStop;
import org.apache.pekko.actor.typed.PreRestart;
import org.apache.pekko.actor.typed.SupervisorStrategy;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.ActorContext;
import org.apache.pekko.actor.typed.javadsl.Adapter;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.actor.typed.javadsl.TimerScheduler;
import org.apache.pekko.cluster.Member;
import org.apache.pekko.cluster.MemberStatus;
import org.apache.pekko.cluster.sharding.typed.javadsl.ClusterSharding;
import org.apache.pekko.cluster.sharding.typed.javadsl.EntityTypeKey;
import org.apache.pekko.cluster.typed.Cluster;
import org.apache.pekko.persistence.typed.EventAdapter;
import org.apache.pekko.persistence.typed.EventSeq;
import org.apache.pekko.persistence.typed.RecoveryCompleted;
import org.apache.pekko.persistence.typed.SnapshotSelectionCriteria;
import org.apache.pekko.persistence.typed.javadsl.CommandHandlerWithReply;
import org.apache.pekko.persistence.typed.javadsl.EventHandler;
import org.apache.pekko.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import org.apache.pekko.persistence.typed.javadsl.Recovery;
import org.apache.pekko.persistence.typed.javadsl.ReplyEffect;
import org.apache.pekko.persistence.typed.javadsl.SignalHandler;

/**
 * One saga instance as an event-sourced actor. Every transition is written to the journal before it
 * is acknowledged or acted on; a participant is only called for a state that is already written.
 */
public final class SagaEntity
    extends EventSourcedBehaviorWithEnforcedReplies<SagaEntity.Command, SagaEvent, SagaSnapshot> {

  public static final EntityTypeKey<Command> ENTITY_TYPE_KEY =
      EntityTypeKey.create(Command.class, SagaHistory.ENTITY_TYPE);

  private static final String TIMEOUT_TIMER = "attempt-timeout";
  private static final String RETRY_TIMER = "retry";
  private static final String DEADLINE_TIMER = "deadline";
  private static final String PASSIVATE_TIMER = "passivate";
  private static final Duration PASSIVATE_AFTER = Duration.ofSeconds(1);

  /** How soon a step this node was fenced from calling is looked at again (jittered). */
  private static final Duration FENCED_RECHECK = Duration.ofSeconds(1);

  // ---- commands -------------------------------------------------------------------------------

  /** What a saga entity is asked to do. */
  public sealed interface Command extends SagaSerializable {}

  /**
   * Starts the saga; the entity id is the idempotency key. {@code version} null means newest.
   * {@code traceparent} is the W3C trace context of the request that starts it (null for none): the
   * saga's attempts continue that trace; without one (or with one that is not valid) it gets a new
   * trace.
   */
  public record Start(
      String type,
      Integer version,
      JsonNode input,
      String traceparent,
      ActorRef<StartReply> replyTo)
      implements Command {
    public Start(String type, Integer version, JsonNode input, ActorRef<StartReply> replyTo) {
      this(type, version, input, null, replyTo);
    }
  }

  public record Get(ActorRef<GetReply> replyTo) implements Command {}

  /** Compensates a running saga, if it has not passed its pivot. */
  public record Cancel(String commandId, String reason, ActorRef<OperatorReply> replyTo)
      implements Command {}

  /** Resumes a {@code FAILED} saga where it stopped. */
  public record Resume(String commandId, ActorRef<OperatorReply> replyTo) implements Command {}

  /**
   * Delivers the signal {@code name} with {@code payload} (JSON null for none); {@code commandId}
   * is its idempotency key: a repeat answers as the first did.
   */
  public record Signal(
      String name, JsonNode payload, String commandId, ActorRef<OperatorReply> replyTo)
      implements Command {}

  /**
   * Wakes the saga after a crash or rebalance; it carries on by itself. Answers Pekko's {@code
   * Done} to {@code replyTo} (null: no answer) once the saga is in memory, recovered.
   */
  public record Wake(ActorRef<org.apache.pekko.Done> replyTo) implements Command {
    public Wake() {
      this(null);
    }
  }

  /** Asks the entity to stop; sent by sharding on passivation and when its shard is handed over. */
  public record Stop() implements Command {}

  /** An attempt's outcome; {@code timedOut} when it is its timeout, which gave no answer. */
  record AttemptFinished(Phase phase, String step, int attempt, Outcome outcome, boolean timedOut)
      implements Command {
    AttemptFinished(Phase phase, String step, int attempt, Outcome outcome) {
      this(phase, step, attempt, outcome, false);
    }
  }

  record AttemptTimedOut(Phase phase, String step, int attempt, Duration timeout)
      implements Command {}

  record RetryDue(Phase phase, String step, int attempt) implements Command {}

  record DeadlineDue() implements Command {}

  record PassivateIfIdle() implements Command {}

  /** The due stage is a parallel group or a fan-out: start its branches. */
  record EnterStage(String stage) implements Command {}

  /**
   * The saga waits on {@code cursor} until {@code dueAt}: its due time is written as a durable
   * timer, with the signal it waits for since {@code since} (both null for a backoff), and then,
   * when {@code leaveMemory}, the saga leaves memory.
   */
  record Park(Cursor cursor, Instant dueAt, String signal, Instant since, boolean leaveMemory)
      implements Command {
    static Park backoff(Cursor cursor, Instant dueAt) {
      return new Park(cursor, dueAt, null, null, true);
    }
  }

  /**
   * The durable timer of a {@link Park} is written, or could not be ({@code failure}); it stands
   * for the journal as it ended at {@code seqNr}.
   */
  record Parked(Park park, long seqNr, String failure) implements Command {}

  // ---- construction ---------------------------------------------------------------------------

  private final String sagaId;
  private final ActorContext<Command> context;
  private final TimerScheduler<Command> timers;
  private final SagaRegistry registry;
  private final StepRunner runner;
  private final ActorRef<ClusterSharding.ShardCommand> shard;
  private final NodeFence fence;
  private final SagaTelemetry telemetry;
  private final SagaLogContext logContext;

  /** The time every event carries and every due time is measured by; a test moves it on. */
  private final Clock clock;

  private final String indexTagManifest;

  /** Which waits are written down as durable timers, so that the saga can leave memory. */
  private final DurableTimers.Waits waits;

  /**
   * The wait this incarnation asked to be passivated for, its due time durable; null when none. A
   * saga stopped while still on it needs no wake: its durable timer wakes it.
   */
  private Cursor parkedOn;

  /**
   * Whether a durable timer of this saga may be in {@link DurableTimers}: one this incarnation
   * wrote, or, once recovered, one an earlier incarnation did. The first event written after it
   * makes it stale, and the saga clears it then.
   */
  private boolean timerMayBeWritten;

  /** True while acting on a recovered state: a saga that finished before is not announced again. */
  private boolean recovering;

  /** False while events are replayed; from then on every event applied is one just written. */
  private boolean recovered;

  /**
   * Set when this incarnation stops (its shard handed off to another node, the saga passivated, the
   * node leaving): its attempts not yet sent (an HTTP call waiting for a connection) or not yet
   * started (a local step queued on the pool) are dropped then, so that none goes out after another
   * node has taken the saga over and perhaps compensated the step.
   */
  private final AtomicBoolean stopped = new AtomicBoolean();

  private final BooleanSupplier withdrawn = stopped::get;

  /**
   * The reply address of the last command from outside this incarnation handled; a repeat of it
   * (SagaEngine's resend) is neither answered nor counted again. Cleared when a failed write
   * restarts the saga: the command it was for got no answer.
   */
  private ActorRef<?> lastAsker;

  /** The signal the attempt in flight waits for, when it is a signal step's wait; else null. */
  private String waitingForSignal;

  /** The attempt this incarnation has invoked and not yet heard back from; not persisted. */
  private Cursor inFlight;

  /** Whether the deadline has passed after the pivot, where it changes nothing. */
  private boolean deadlineSpent;

  /** The in-flight attempt of a local step, which its timeout may withdraw before it runs. */
  private StepRunner.LocalAttempt inFlightLocal;

  /** What the telemetry is told when the attempt in flight ends; null when none is. */
  private SagaTelemetry.Attempt inFlightTelemetry;

  /** How the last attempt ended, until the event it led to is written. */
  private SagaTelemetry.AttemptEnd lastEnd;

  /** Events applied and not yet told to the telemetry (see {@link #announceWritten}). */
  private final List<SagaEvent> unannounced = new ArrayList<>(2);

  /** The state after each of {@link #unannounced}. */
  private final List<SagaSnapshot> unannouncedStates = new ArrayList<>(2);

  /**
   * The attempts of a parallel group's branches this incarnation has out, by branch; not persisted.
   */
  private final Map<String, BranchCall> branchCalls = new HashMap<>();

  /** An attempt of a branch that is out: its cursor, its local attempt (or null), its telemetry. */
  private record BranchCall(
      Cursor cursor, StepRunner.LocalAttempt local, SagaTelemetry.Attempt telemetry) {}

  private SagaEntity(
      String sagaId,
      ActorContext<Command> context,
      TimerScheduler<Command> timers,
      SagaRegistry registry,
      StepRunner runner,
      ActorRef<ClusterSharding.ShardCommand> shard,
      Clock clock,
      SagaTelemetry telemetry,
      DurableTimers.Waits waits,
      SagaLogContext logContext) {
    super(
        SagaHistory.persistenceId(sagaId),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.sagaId = sagaId;
    this.context = context;
    this.timers = timers;
    this.registry = registry;
    this.runner = runner;
    this.shard = shard;
    this.clock = clock;
    this.telemetry = telemetry;
    this.logContext = logContext;
    this.waits = waits;
    this.fence = NodeFence.get(Adapter.toClassic(context.getSystem()));
    this.indexTagManifest = SagaHistory.tagManifest(SagaHistory.indexTag(sagaId));
  }

  /**
   * The behavior of saga {@code sagaId}. {@code shard} is null outside Cluster Sharding (tests);
   * then a finished saga does not passivate.
   */
  public static Behavior<Command> create(
      String sagaId,
      ActorRef<ClusterSharding.ShardCommand> shard,
      SagaRegistry registry,
      StepRunner runner) {
    return create(sagaId, shard, registry, runner, Clock.systemUTC());
  }

  /**
   * The behavior of saga {@code sagaId}, reading the time from {@code clock}: the times its events
   * carry, and those its retries, timeouts and deadline are due at. A test that moves the actor
   * system's scheduler by hand passes a clock that follows it, so that both agree on the time.
   */
  public static Behavior<Command> create(
      String sagaId,
      ActorRef<ClusterSharding.ShardCommand> shard,
      SagaRegistry registry,
      StepRunner runner,
      Clock clock) {
    return create(sagaId, shard, registry, runner, clock, SagaTelemetry.NONE);
  }

  /**
   * The behavior of saga {@code sagaId}, telling {@code telemetry} what it writes and does (see
   * {@link SagaTelemetry}).
   */
  public static Behavior<Command> create(
      String sagaId,
      ActorRef<ClusterSharding.ShardCommand> shard,
      SagaRegistry registry,
      StepRunner runner,
      Clock clock,
      SagaTelemetry telemetry) {
    return create(sagaId, shard, registry, runner, clock, telemetry, DurableTimers.Waits.IN_MEMORY);
  }

  /**
   * The behavior of saga {@code sagaId}, which, under sharding, leaves memory while it waits as
   * {@code waits} says: its due time written to {@link DurableTimers}, it asks to be passivated,
   * and whatever reads the timers back wakes it.
   */
  public static Behavior<Command> create(
      String sagaId,
      ActorRef<ClusterSharding.ShardCommand> shard,
      SagaRegistry registry,
      StepRunner runner,
      Clock clock,
      SagaTelemetry telemetry,
      DurableTimers.Waits waits) {
    Objects.requireNonNull(clock, "clock");
    Objects.requireNonNull(telemetry, "telemetry");
    Objects.requireNonNull(waits, "waits");
    // Inside withTimers, so that a timer's message reaches the log context as itself.
    return Behaviors.setup(
        context ->
            Behaviors.withTimers(
                timers -> {
                  var logContext = new SagaLogContext(sagaId);
                  return logContext.around(
                      new SagaEntity(
                          sagaId,
                          context,
                          timers,
                          registry,
                          runner,
                          shard,
                          clock,
                          telemetry,
                          waits,
                          logContext));
                }));
  }

  // ---- commands -------------------------------------------------------------------------------

  /**
   * One handler for every state and command, dispatching by type: Pekko's handler builder would be
   * built anew for every saga (one per entity) and tries each registered command class in turn.
   */
  @Override
  public CommandHandlerWithReply<Command, SagaEvent, SagaSnapshot> commandHandler() {
    return this::handle;
  }

  private ReplyEffect<SagaEvent, SagaSnapshot> handle(SagaSnapshot state, Command cmd) {
    ActorRef<?> replyTo = askedBy(cmd);
    if (replyTo != null) {
      if (replyTo.equals(lastAsker)) {
        // The engine's repeat of a message this incarnation has handled already (SagaEngine
        // sends it again while no answer has reached the asker): its answer is on its way.
        return Effect().noReply();
      }
      lastAsker = replyTo;
    }
    if (state instanceof Started active) {
      return handle(active, cmd);
    }
    SagaSnapshot.NotStarted empty = (SagaSnapshot.NotStarted) state;
    if (cmd instanceof Start start) {
      return start(empty, start);
    } else if (cmd instanceof Get get) {
      return notFound(get.replyTo());
    } else if (cmd instanceof Cancel cancel) {
      return notFound(cancel.replyTo());
    } else if (cmd instanceof Resume resume) {
      return notFound(resume.replyTo());
    } else if (cmd instanceof Signal signal) {
      return notFound(signal.replyTo());
    } else if (cmd instanceof Stop) {
      return Effect().stop().thenNoReply();
    } else if (cmd instanceof PassivateIfIdle) {
      return passivateNow();
    } else if (cmd instanceof Wake wake && wake.replyTo() != null) {
      return Effect().none().thenRun(s -> passivateSoon()).thenReply(wake.replyTo(), s -> woken());
    }
    return Effect().none().thenRun(s -> passivateSoon()).thenNoReply();
  }

  /** Who waits for the answer of a command from outside the entity; null for the entity's own. */
  private static ActorRef<?> askedBy(Command cmd) {
    if (cmd instanceof Start c) {
      return c.replyTo();
    } else if (cmd instanceof Get c) {
      return c.replyTo();
    } else if (cmd instanceof Cancel c) {
      return c.replyTo();
    } else if (cmd instanceof Resume c) {
      return c.replyTo();
    } else if (cmd instanceof Signal c) {
      return c.replyTo();
    } else if (cmd instanceof Wake c) {
      return c.replyTo();
    }
    return null;
  }

  private ReplyEffect<SagaEvent, SagaSnapshot> handle(Started state, Command cmd) {
    if (state.group() != null) {
      if (cmd instanceof AttemptFinished c) {
        return branchAttemptFinished(state, c);
      } else if (cmd instanceof RetryDue c) {
        return branchRetryDue(state, c);
      } else if (cmd instanceof AttemptTimedOut c) {
        return branchAttemptTimedOut(state, c);
      }
    }
    if (cmd instanceof EnterStage c) {
      return enterStage(state, c);
    } else if (cmd instanceof AttemptFinished c) {
      return attemptFinished(state, c);
    } else if (cmd instanceof RetryDue c) {
      return retryDue(state, c);
    } else if (cmd instanceof AttemptTimedOut c) {
      return attemptTimedOut(state, c);
    } else if (cmd instanceof Get c) {
      return Effect().reply(c.replyTo(), new Found(view(state)));
    } else if (cmd instanceof Start c) {
      return startAgain(state, c);
    } else if (cmd instanceof Cancel c) {
      return cancel(state, c);
    } else if (cmd instanceof Resume c) {
      return resume(state, c);
    } else if (cmd instanceof Signal c) {
      return signal(state, c);
    } else if (cmd instanceof Wake c) {
      return wake(state, c);
    } else if (cmd instanceof DeadlineDue c) {
      return deadlineDue(state, c);
    } else if (cmd instanceof PassivateIfIdle) {
      return waitsForOperator(state) ? passivateNow() : Effect().noReply();
    } else if (cmd instanceof Park c) {
      return park(state, c);
    } else if (cmd instanceof Parked c) {
      return parked(state, c);
    } else if (cmd instanceof Stop c) {
      return stop(state, c);
    }
    throw new IllegalStateException("Saga " + sagaId + " has no handler for " + cmd);
  }

  private ReplyEffect<SagaEvent, SagaSnapshot> start(SagaSnapshot.NotStarted state, Start cmd) {
    Optional<Invalid> invalid = registry.checkStart(cmd.type(), cmd.version(), cmd.input());
    if (invalid.isPresent()) {
      return rejectStart(cmd, invalid.get());
    }
    SagaDefinition<?> definition = registry.find(cmd.type(), cmd.version()).orElseThrow();
    Instant now = clock.instant();
    SagaTelemetry.Trace trace = telemetry.startTrace(sagaId, cmd.type(), cmd.traceparent());
    var started =
        new SagaStarted(
            definition.name(),
            definition.version(),
            cmd.input(),
            Fingerprint.of(cmd.type(), cmd.input()),
            trace.traceId(),
            trace.parentSpanId(),
            definition.stages().get(0).name(),
            definition.deadline().map(now::plus).orElse(null),
            now);
    return Effect()
        .persist(started)
        .thenRun(this::drive)
        .thenReply(cmd.replyTo(), s -> new Accepted(view((Started) s), true));
  }

  private ReplyEffect<SagaEvent, SagaSnapshot> rejectStart(Start cmd, Invalid invalid) {
    return Effect().none().thenRun(s -> passivateSoon()).thenReply(cmd.replyTo(), s -> invalid);
  }

  private ReplyEffect<SagaEvent, SagaSnapshot> startAgain(Started state, Start cmd) {
    boolean same =
        state.type().equals(cmd.type())
            && state.fingerprint().equals(Fingerprint.of(cmd.type(), cmd.input()));
    if (same) {
      telemetry.duplicate(SagaTelemetry.Duplicate.START, state.type());
      return Effect().reply(cmd.replyTo(), new Accepted(view(state), false));
    }
    String detail =
        "saga '"
            + sagaId
            + "' already exists with "
            + (state.type().equals(cmd.type())
                ? "a different input"
                : "type '" + state.type() + "'");
    return Effect().reply(cmd.replyTo(), new Conflict(detail, view(state)));
  }

  private ReplyEffect<SagaEvent, SagaSnapshot> notFound(ActorRef<? super NotFound> replyTo) {
    return Effect().none().thenRun(s -> passivateSoon()).thenReply(replyTo, s -> new NotFound());
  }

  private ReplyEffect<SagaEvent, SagaSnapshot> cancel(Started state, Cancel cmd) {
    if (state.handledCommand(cmd.commandId())) {
      telemetry.duplicate(SagaTelemetry.Duplicate.OPERATOR_COMMAND, state.type());
      return Effect().reply(cmd.replyTo(), new Done(view(state)));
    }
    if (state.status() != SagaStatus.RUNNING) {
      return Effect()
          .reply(
              cmd.replyTo(),
              new Refused(
                  "saga is " + state.status() + "; only a RUNNING saga can be cancelled",
                  view(state)));
    }
    SagaDefinition<?> definition = registry.find(state.type(), state.version()).orElse(null);
    if (definition == null) {
      return Effect().reply(cmd.replyTo(), new Refused(missingDefinition(state), view(state)));
    }
    Optional<String> pivot = pivotReached(state, definition);
    if (pivot.isPresent()) {
      return Effect()
          .reply(
              cmd.replyTo(),
              new Refused(
                  "saga reached its pivot step '"
                      + pivot.get()
                      + "' and must complete; it can no longer be cancelled",
                  view(state)));
    }
    String reason =
        "cancelled" + (cmd.reason() == null || cmd.reason().isBlank() ? "" : ": " + cmd.reason());
    var event = compensationStarted(state, definition, reason, cmd.commandId());
    return Effect()
        .persist(event)
        .thenRun(this::drive)
        .thenReply(cmd.replyTo(), s -> new Done(view((Started) s)));
  }

  private ReplyEffect<SagaEvent, SagaSnapshot> resume(Started state, Resume cmd) {
    if (state.handledCommand(cmd.commandId())) {
      telemetry.duplicate(SagaTelemetry.Duplicate.OPERATOR_COMMAND, state.type());
      return Effect().reply(cmd.replyTo(), new Done(view(state)));
    }
    if (state.status() != SagaStatus.FAILED) {
      return Effect()
          .reply(
              cmd.replyTo(),
              new Refused(
                  "saga is " + state.status() + "; only a FAILED saga can be resumed",
                  view(state)));
    }
    if (registry.find(state.type(), state.version()).isEmpty()) {
      return Effect().reply(cmd.replyTo(), new Refused(missingDefinition(state), view(state)));
    }
    return Effect()
        .persist(new SagaResumed(cmd.commandId(), clock.instant()))
        .thenRun(this::drive)
        .thenReply(cmd.replyTo(), s -> new Done(view((Started) s)));
  }

  private ReplyEffect<SagaEvent, SagaSnapshot> signal(Started state, Signal cmd) {
    if (state.handledCommand(cmd.commandId())) {
      telemetry.duplicate(SagaTelemetry.Duplicate.OPERATOR_COMMAND, state.type());
      return Effect().reply(cmd.replyTo(), new Done(view(state)));
    }
    Optional<SagaDefinition<?>> definition = registry.find(state.type(), state.version());
    if (definition.isEmpty()) {
      return Effect().reply(cmd.replyTo(), new Refused(missingDefinition(state), view(state)));
    }
    if (!definition.get().signals().contains(cmd.name())) {
      List<String> known = definition.get().signals();
      return Effect()
          .reply(
              cmd.replyTo(),
              new UnknownSignal(
                  "saga type '"
                      + state.type()
                      + "' (version "
                      + state.version()
                      + ") waits for no signal '"
                      + cmd.name()
                      + "'"
                      + (known.isEmpty() ? "; it waits for none" : "; it waits for " + known)));
    }
    if (state.status() != SagaStatus.RUNNING || waitsForOperator(state)) {
      return Effect()
          .reply(
              cmd.replyTo(),
              new Refused(
                  "saga is " + state.status() + "; only a RUNNING saga takes a signal",
                  view(state)));
    }
    if (state.progress().signals().containsKey(cmd.name())) {
      return Effect()
          .reply(
              cmd.replyTo(),
              new Refused(
                  "the signal '" + cmd.name() + "' was already received; a saga takes it once",
                  view(state)));
    }
    context.getLog().info("Signal '{}' received", cmd.name());
    return Effect()
        .persist(
            new SignalReceived(
                cmd.name(),
                cmd.payload() == null ? NullNode.getInstance() : cmd.payload(),
                cmd.commandId(),
                clock.instant()))
        .thenRun(this::signalKept)
        .thenReply(cmd.replyTo(), s -> new Done(view((Started) s)));
  }

  /**
   * A signal is written: if the saga waits for it now, it takes it (its step's outcome goes to the
   * saga as an attempt's answer would); else it is kept until the saga reaches its step.
   */
  private void signalKept(SagaSnapshot state) {
    announceWritten();
    clearTimer();
    if (!(state instanceof Started active) || active.cursor() == null) {
      return;
    }
    Cursor cursor = active.cursor();
    if (waitingForSignal != null && cursor.equals(inFlight)) {
      Optional<AttemptFinished> taken = signalOutcome(active, cursor);
      if (taken.isPresent()) {
        tellSelf(taken.get());
      } else {
        writeSignalWait(active, cursor); // still waiting: the write made its timer stale
      }
    } else if (inFlight == null && cursor.retryAt() != null) {
      // Kept while the saga waits on a backoff: that wait's timer went stale with the write.
      Instant now = clock.instant();
      Instant wakeAt = wakeAt(active, now);
      if (shard != null && wakeAt.isAfter(now) && waits.durable(now, wakeAt)) {
        tellSelf(Park.backoff(cursor, wakeAt));
      }
    }
  }

  private void tellSelf(Command command) {
    context.getSelf().tell(command);
  }

  private ReplyEffect<SagaEvent, SagaSnapshot> wake(Started state, Wake cmd) {
    if (!waitsForOperator(state) && registry.find(state.type(), state.version()).isEmpty()) {
      context.getLog().error("Saga cannot continue: {}", missingDefinition(state));
      var failed =
          Effect()
              .persist(new SagaFailed(missingDefinition(state), clock.instant()))
              .thenRun(this::drive);
      return cmd.replyTo() == null
          ? failed.thenNoReply()
          : failed.thenReply(cmd.replyTo(), s -> woken());
    }
    return cmd.replyTo() == null ? Effect().noReply() : Effect().reply(cmd.replyTo(), woken());
  }

  private static org.apache.pekko.Done woken() {
    return org.apache.pekko.Done.getInstance();
  }

  private ReplyEffect<SagaEvent, SagaSnapshot> attemptFinished(Started state, AttemptFinished cmd) {
    if (isSupersededForward(state, cmd.phase(), cmd.step(), cmd.attempt())) {
      attemptEnded(cmd.outcome(), false);
      return forwardSettled(state, cmd.step(), cmd.attempt(), cmd.outcome());
    }
    if (!isInFlight(state, cmd.phase(), cmd.step(), cmd.attempt())) {
      telemetry.duplicate(SagaTelemetry.Duplicate.STALE_REPLY, state.type());
      context
          .getLog()
          .debug(
              "Ignoring a reply from {} attempt {} of step {}: no longer current",
              cmd.phase(),
              cmd.attempt(),
              cmd.step());
      return Effect().noReply();
    }
    inFlight = null;
    waitingForSignal = null;
    timers.cancel(TIMEOUT_TIMER);
    attemptEnded(cmd.outcome(), cmd.timedOut());
    SagaDefinition<?> definition = registry.find(state.type(), state.version()).orElseThrow();
    Step step = definition.step(cmd.step());
    SagaEvent event =
        cmd.phase() == Phase.FORWARD
            ? forwardOutcome(state, definition, step, cmd.outcome())
            : compensationOutcome(state, step, cmd.outcome());
    return Effect().persist(event).thenRun(this::drive).thenNoReply();
  }

  private ReplyEffect<SagaEvent, SagaSnapshot> attemptTimedOut(Started state, AttemptTimedOut cmd) {
    if (isSupersededForward(state, cmd.phase(), cmd.step(), cmd.attempt())) {
      attemptEnded(Outcome.Retryable.of("timed out after " + cmd.timeout()), true);
      return forwardSettled(state, cmd.step(), cmd.attempt(), null);
    }
    if (!isInFlight(state, cmd.phase(), cmd.step(), cmd.attempt())) {
      return Effect().noReply();
    }
    if (waitingForSignal != null) {
      String reason =
          "no signal '" + waitingForSignal + "' arrived within " + cmd.timeout() + " of waiting";
      return attemptFinished(
          state,
          new AttemptFinished(
              cmd.phase(), cmd.step(), cmd.attempt(), new Outcome.Permanent(reason), false));
    }
    String error = "attempt " + cmd.attempt() + " timed out after " + cmd.timeout();
    // The attempt in flight is a local step's exactly when invoke kept its LocalAttempt.
    boolean local = inFlightLocal != null;
    if (local && inFlightLocal.withdrawIfNotStarted()) {
      // Every local-step thread was busy for the whole timeout: the function never ran, and now
      // never will, so this attempt failed like an HTTP call that was never answered.
      return attemptFinished(
          state,
          new AttemptFinished(
              cmd.phase(),
              cmd.step(),
              cmd.attempt(),
              Outcome.Retryable.of(
                  "attempt "
                      + cmd.attempt()
                      + " waited "
                      + cmd.timeout()
                      + " for a free local-step thread and never ran"),
              true));
    }
    // An HTTP call that has not answered is sent again: the participant dedupes by its key. A
    // local function still running may yet do its work, and nothing dedupes it: it is uncertain,
    // never run a second time beside itself.
    if (local && cmd.phase() == Phase.COMPENSATION) {
      // Neither done nor failed: only a person can tell whether the undo happened.
      inFlight = null;
      attemptEnded(
          new Outcome.Unreadable("local compensation", "was still running at its timeout"), true);
      String running =
          "local compensation still running when its timeout (" + cmd.timeout() + ") passed";
      String reason =
          "compensation of step '"
              + cmd.step()
              + "' was still running when its timeout ("
              + cmd.timeout()
              + ") passed: it may yet complete, so it is not run again (retry runs it again)";
      context.getLog().error("Saga needs an operator: {}", reason);
      return Effect()
          .persist(
              new CompensationFailed(cmd.step(), cmd.attempt(), running, reason, clock.instant()))
          .thenRun(this::drive)
          .thenNoReply();
    }
    Outcome outcome =
        local
            ? new Outcome.Unreadable(
                "local step", "was still running when its timeout (" + cmd.timeout() + ") passed")
            : Outcome.Retryable.of(error);
    return attemptFinished(
        state, new AttemptFinished(cmd.phase(), cmd.step(), cmd.attempt(), outcome, true));
  }

  private ReplyEffect<SagaEvent, SagaSnapshot> retryDue(Started state, RetryDue cmd) {
    Cursor cursor = state.cursor();
    if (inFlight == null
        && cursor != null
        && !waitsForOperator(state)
        && cursor.phase() == cmd.phase()
        && cursor.step().equals(cmd.step())
        && cursor.attempt() == cmd.attempt()) {
      // Not invoke: Pekko's scheduler can fire a timer early when its thread was held up while
      // the timer was set (seen: 12 ms early on a 180 s backoff, with the node saturated). drive
      // calls the step only once the persisted due time has passed, and re-arms the timer for
      // what is left otherwise.
      drive(state);
    }
    return Effect().noReply();
  }

  private ReplyEffect<SagaEvent, SagaSnapshot> deadlineDue(Started state, DeadlineDue cmd) {
    if (state.status() != SagaStatus.RUNNING) {
      return Effect().noReply();
    }
    SagaDefinition<?> definition = registry.find(state.type(), state.version()).orElseThrow();
    Optional<String> pivot = pivotReached(state, definition);
    if (pivot.isPresent()) {
      // Said once: past the pivot the deadline undoes nothing, so it is not armed again.
      deadlineSpent = true;
      context
          .getLog()
          .info("Deadline passed after reaching pivot step {}; the saga completes", pivot.get());
      return Effect().noReply();
    }
    String reason = "deadline passed at " + state.deadline();
    var event = compensationStarted(state, definition, reason, null);
    return Effect().persist(event).thenRun(this::drive).thenNoReply();
  }

  // ---- parallel groups and fan-outs ----------------------------------------------------------

  private boolean isBranching(Started state, String stage) {
    return registry
        .find(state.type(), state.version())
        .flatMap(d -> d.stage(stage))
        .map(Stage::branches)
        .orElse(false);
  }

  /**
   * The saga is due at a parallel group or a fan-out: one write starts its branches. A fan-out's
   * list is computed here, from the written state; one that cannot be computed, is too long or has
   * keys that are not valid rejects the step, and an empty one succeeds at once with no elements.
   */
  private ReplyEffect<SagaEvent, SagaSnapshot> enterStage(Started state, EnterStage cmd) {
    Cursor cursor = state.cursor();
    if (!(state instanceof SagaSnapshot.Running)
        || !cursor.step().equals(cmd.stage())
        || !isBranching(state, cmd.stage())) {
      return Effect().noReply();
    }
    SagaDefinition<?> definition = registry.find(state.type(), state.version()).orElseThrow();
    Stage stage = definition.stage(cmd.stage()).orElseThrow();
    Instant now = clock.instant();
    if (stage.group()) {
      List<String> branches = stage.steps().stream().map(Step::name).toList();
      return Effect()
          .persist(new BranchesStarted(stage.name(), branches, 0, now))
          .thenRun(this::drive)
          .thenNoReply();
    }
    Step step = stage.steps().get(0);
    FanOut fanOut = step.fanOut().orElseThrow();
    var keys = new ArrayList<String>();
    String problem;
    try {
      problem = elementKeys(runner.elements(sagaId, definition, state, step), fanOut, keys);
    } catch (RuntimeException e) {
      problem = "its list could not be computed: " + e;
    }
    SagaEvent event;
    if (problem != null) {
      String reason = "step '" + step.name() + "' was rejected: " + problem;
      context.getLog().warn("Saga compensates: {}", reason);
      event =
          new StepFailed(
              step.name(),
              1,
              problem,
              false,
              reason,
              compensations(state, definition, (String) null),
              now);
    } else if (keys.isEmpty()) {
      JsonNode none = JsonNodeFactory.instance.arrayNode();
      event =
          definition
              .stageAfter(step.name())
              .<SagaEvent>map(next -> new StepSucceeded(step.name(), 1, none, next.name(), now))
              .orElseGet(() -> new SagaCompleted(step.name(), 1, none, now));
    } else {
      List<String> branches = keys.stream().map(k -> step.name() + "/" + k).toList();
      event = new BranchesStarted(step.name(), branches, fanOut.maxConcurrency(), now);
    }
    return Effect().persist(event).thenRun(this::drive).thenNoReply();
  }

  /** Collects the elements' keys into {@code keys}; the problem with them, or null. */
  private static String elementKeys(List<?> elements, FanOut fanOut, List<String> keys) {
    if (elements.size() > fanOut.maxElements()) {
      return "its list has "
          + elements.size()
          + " elements, more than its maxElements ("
          + fanOut.maxElements()
          + ")";
    }
    var seen = new HashSet<String>();
    for (int i = 0; i < elements.size(); i++) {
      String key = fanOut.key().apply(elements.get(i));
      if (key == null || !key.matches(FanOut.KEY_PATTERN)) {
        return "element "
            + i
            + " has the key '"
            + key
            + "'; a key is 1-100 letters, digits, '.', '_', ':' or '-'";
      }
      if (!seen.add(key)) {
        return "elements share the key '" + key + "'; each element needs its own";
      }
      keys.add(key);
    }
    return null;
  }

  /** Calls every attempt of the group that is due and not out, or waits for its due time. */
  private void driveGroup(Started state) {
    GroupRun group = state.group();
    branchCalls.entrySet().removeIf(e -> !e.getValue().cursor().equals(group.cursor(e.getKey())));
    Instant now = clock.instant();
    for (Cursor cursor : group.due()) {
      if (branchCalls.containsKey(cursor.step())) {
        continue;
      }
      if (cursor.retryAt() != null && cursor.retryAt().isAfter(now)) {
        timers.startSingleTimer(
            RETRY_TIMER + "/" + cursor.step(),
            new RetryDue(cursor.phase(), cursor.step(), cursor.attempt()),
            Duration.between(now, cursor.retryAt()));
      } else {
        invokeBranch(state, cursor);
      }
    }
  }

  private void invokeBranch(Started state, Cursor cursor) {
    if (!fence.mayAct()) {
      long jitter = ThreadLocalRandom.current().nextLong(FENCED_RECHECK.toMillis() / 2 + 1);
      timers.startSingleTimer(
          RETRY_TIMER + "/" + cursor.step(),
          new RetryDue(cursor.phase(), cursor.step(), cursor.attempt()),
          FENCED_RECHECK.plusMillis(jitter));
      return;
    }
    SagaDefinition<?> definition = registry.find(state.type(), state.version()).orElseThrow();
    Step step = definition.step(cursor.step());
    StepAction<?> action =
        cursor.phase() == Phase.FORWARD ? step.action() : step.compensation().orElseThrow();
    SagaTelemetry.Attempt attemptTelemetry =
        attemptStarted(state, cursor, step, participantOf(action));
    var invocation =
        new StepRunner.Invocation(
            sagaId,
            definition,
            state,
            step,
            cursor.phase(),
            cursor.attempt(),
            attemptTelemetry.traceparent(),
            cursor.step(),
            withdrawn);
    CompletionStage<Outcome> attempt = runner.run(invocation);
    var local = attempt instanceof StepRunner.LocalAttempt l ? l : null;
    branchCalls.put(cursor.step(), new BranchCall(cursor, local, attemptTelemetry));
    if (!(attempt instanceof CompletableFuture<Outcome> done && done.isDone())) {
      timers.startSingleTimer(
          TIMEOUT_TIMER + "/" + cursor.step(),
          new AttemptTimedOut(cursor.phase(), cursor.step(), cursor.attempt(), step.timeout()),
          step.timeout());
    }
    context.pipeToSelf(
        attempt,
        (outcome, failure) ->
            new AttemptFinished(
                cursor.phase(),
                cursor.step(),
                cursor.attempt(),
                outcome != null
                    ? outcome
                    : Outcome.Retryable.of("step failed unexpectedly: " + failure)));
  }

  /** The branch call this answer (or timeout) is for, if it is still the one due; else null. */
  private BranchCall currentBranchCall(Started state, Phase phase, String step, int attempt) {
    BranchCall call = branchCalls.get(step);
    Cursor due = state.group().cursor(step);
    if (call == null
        || due == null
        || !call.cursor().equals(due)
        || due.phase() != phase
        || due.attempt() != attempt) {
      return null;
    }
    return call;
  }

  private ReplyEffect<SagaEvent, SagaSnapshot> branchAttemptFinished(
      Started state, AttemptFinished cmd) {
    BranchCall call = currentBranchCall(state, cmd.phase(), cmd.step(), cmd.attempt());
    if (call == null) {
      telemetry.duplicate(SagaTelemetry.Duplicate.STALE_REPLY, state.type());
      context
          .getLog()
          .debug(
              "Ignoring a reply from {} attempt {} of branch {}: no longer current",
              cmd.phase(),
              cmd.attempt(),
              cmd.step());
      return Effect().noReply();
    }
    branchCalls.remove(cmd.step());
    timers.cancel(TIMEOUT_TIMER + "/" + cmd.step());
    SagaTelemetry.AttemptEnd end = endOf(cmd.outcome(), cmd.timedOut());
    lastEnd = end;
    call.telemetry().ended(end);
    SagaDefinition<?> definition = registry.find(state.type(), state.version()).orElseThrow();
    Step step = definition.step(cmd.step());
    Cursor cursor = call.cursor();
    GroupRun group = state.group();
    Instant now = clock.instant();
    SagaEvent event;
    if (state instanceof SagaSnapshot.FailedGroup) {
      // Another branch failed meanwhile: a success is kept, anything else waits for the resume.
      if (!(cmd.outcome() instanceof Outcome.Succeeded ok)) {
        return Effect().noReply();
      }
      SagaEvent kept =
          cmd.phase() == Phase.FORWARD
              ? new BranchSucceeded(cursor.step(), cursor.attempt(), ok.output(), null, false, now)
              : new StepCompensated(cursor.step(), cursor.attempt(), false, null, now);
      return Effect().persist(kept).thenNoReply(); // still FAILED: nothing to drive or announce
    }
    if (cmd.phase() == Phase.COMPENSATION) {
      boolean last = group.due().size() == 1 && state.compensations().isEmpty();
      event = compensationOutcome(step, cursor, last, cmd.outcome(), now);
    } else if (state instanceof SagaSnapshot.CompensatingGroup) {
      event = branchSettled(state, cursor, cmd.outcome(), now);
    } else {
      event = branchOutcome(state, definition, step, cursor, cmd.outcome(), now);
    }
    return Effect().persist(event).thenRun(this::drive).thenNoReply();
  }

  /** The answer of an attempt a compensating group waited for: it decides whether it is undone. */
  private SagaEvent branchSettled(Started state, Cursor cursor, Outcome outcome, Instant now) {
    GroupRun group = state.group();
    if (outcome instanceof Outcome.Succeeded ok) {
      return new BranchSucceeded(cursor.step(), cursor.attempt(), ok.output(), null, false, now);
    }
    boolean rejected = outcome instanceof Outcome.Permanent;
    String error = outcome instanceof Outcome.Unreadable u ? u.error() : errorOf(outcome);
    boolean nothingLeft =
        rejected
            && group.due().size() == 1
            && group.undo().isEmpty()
            && state.compensations().isEmpty();
    return new BranchSettled(cursor.step(), cursor.attempt(), error, !rejected, nothingLeft, now);
  }

  /** What an attempt of a running group's branch leads to, by the failure rules. */
  private SagaEvent branchOutcome(
      Started state,
      SagaDefinition<?> definition,
      Step step,
      Cursor cursor,
      Outcome outcome,
      Instant now) {
    GroupRun group = state.group();
    String name = cursor.step();
    if (outcome instanceof Outcome.Succeeded ok) {
      boolean last = group.due().size() == 1 && group.pending().isEmpty();
      Optional<Stage> next = last ? definition.stageAfter(group.name()) : Optional.empty();
      return new BranchSucceeded(
          name,
          cursor.attempt(),
          ok.output(),
          next.map(Stage::name).orElse(null),
          last && next.isEmpty(),
          now);
    }
    String error;
    boolean uncertain;
    String what;
    if (outcome instanceof Outcome.Permanent rejected) {
      error = rejected.error();
      uncertain = false;
      what = "was rejected: " + error;
    } else if (outcome instanceof Outcome.Unreadable unreadable) {
      error = unreadable.error();
      uncertain = true;
      what = unreadable.problem();
    } else {
      error = errorOf(outcome);
      if (step.retry().allowsAttemptAfter(cursor.attemptsInBudget())) {
        Instant retryAt = now.plus(retryDelay(step.retry(), cursor.attemptsInBudget(), outcome));
        context
            .getLog()
            .info(
                "Branch {} attempt {} failed, retrying at {}: {}",
                name,
                cursor.attempt(),
                retryAt,
                error);
        return new StepAttemptFailed(name, cursor.attempt(), error, retryAt, now);
      }
      uncertain = true;
      what = "gave no answer after " + cursor.attemptsInBudget() + " attempts: " + error;
    }
    if (step.kind() != StepKind.COMPENSATABLE) {
      String reason = "step '" + name + "', after the pivot, " + what;
      context.getLog().error("Saga needs an operator: {}", reason);
      return new StepFailedAfterPivot(name, cursor.attempt(), error, uncertain, reason, now);
    }
    String reason = "step '" + name + "' " + what;
    context.getLog().warn("Saga compensates: {}", reason);
    var mayHaveHappened = new ArrayList<String>();
    for (Cursor c : group.due()) {
      if (!c.step().equals(name) || uncertain) {
        mayHaveHappened.add(c.step());
      }
    }
    return new BranchFailed(
        name,
        cursor.attempt(),
        error,
        uncertain,
        reason,
        compensations(state, definition, mayHaveHappened),
        awaited(state, definition, name),
        now);
  }

  /**
   * The branches whose attempts are out, other than {@code except}, and have a compensation: their
   * answers decide whether they are undone, so the group's compensations wait for them.
   */
  private List<String> awaited(Started state, SagaDefinition<?> definition, String except) {
    var awaiting = new ArrayList<String>();
    for (Cursor c : state.group().due()) {
      BranchCall call = branchCalls.get(c.step());
      if (call != null
          && call.cursor().equals(c)
          && c.phase() == Phase.FORWARD
          && !c.step().equals(except)
          && definition.step(c.step()).hasCompensation()) {
        awaiting.add(c.step());
      }
    }
    return awaiting;
  }

  private ReplyEffect<SagaEvent, SagaSnapshot> branchRetryDue(Started state, RetryDue cmd) {
    Cursor due = state.group().cursor(cmd.step());
    if (!waitsForOperator(state)
        && due != null
        && !branchCalls.containsKey(cmd.step())
        && due.phase() == cmd.phase()
        && due.attempt() == cmd.attempt()) {
      drive(state); // calls only once the persisted due time has passed (see retryDue)
    }
    return Effect().noReply();
  }

  private ReplyEffect<SagaEvent, SagaSnapshot> branchAttemptTimedOut(
      Started state, AttemptTimedOut cmd) {
    BranchCall call = currentBranchCall(state, cmd.phase(), cmd.step(), cmd.attempt());
    if (call == null) {
      return Effect().noReply();
    }
    boolean local = call.local() != null;
    Outcome outcome;
    if (local && call.local().withdrawIfNotStarted()) {
      outcome =
          Outcome.Retryable.of(
              "attempt "
                  + cmd.attempt()
                  + " waited "
                  + cmd.timeout()
                  + " for a free local-step thread and never ran");
    } else if (local && cmd.phase() == Phase.COMPENSATION) {
      branchCalls.remove(cmd.step());
      call.telemetry()
          .ended(
              endOf(
                  new Outcome.Unreadable("local compensation", "was still running at its timeout"),
                  true));
      String reason =
          "compensation of step '"
              + cmd.step()
              + "' was still running when its timeout ("
              + cmd.timeout()
              + ") passed: it may yet complete, so it is not run again (retry runs it again)";
      context.getLog().error("Saga needs an operator: {}", reason);
      return Effect()
          .persist(
              new CompensationFailed(
                  cmd.step(),
                  cmd.attempt(),
                  "local compensation still running when its timeout ("
                      + cmd.timeout()
                      + ") passed",
                  reason,
                  clock.instant()))
          .thenRun(this::drive)
          .thenNoReply();
    } else {
      outcome =
          local
              ? new Outcome.Unreadable(
                  "local step", "was still running when its timeout (" + cmd.timeout() + ") passed")
              : Outcome.Retryable.of(
                  "attempt " + cmd.attempt() + " timed out after " + cmd.timeout());
    }
    return branchAttemptFinished(
        state, new AttemptFinished(cmd.phase(), cmd.step(), cmd.attempt(), outcome, true));
  }

  // ---- failure rules --------------------------------------------------------------------------

  private SagaEvent forwardOutcome(
      Started state, SagaDefinition<?> definition, Step step, Outcome outcome) {
    Cursor cursor = state.cursor();
    Instant now = clock.instant();
    if (outcome instanceof Outcome.Succeeded ok) {
      return definition
          .stageAfter(step.name())
          .<SagaEvent>map(
              next ->
                  new StepSucceeded(step.name(), cursor.attempt(), ok.output(), next.name(), now))
          .orElseGet(() -> new SagaCompleted(step.name(), cursor.attempt(), ok.output(), now));
    }
    if (outcome instanceof Outcome.Permanent rejected) {
      if (step.kind() == StepKind.RETRIABLE) {
        return failedAfterPivot(
            step,
            cursor,
            rejected.error(),
            false,
            "was rejected at attempt " + cursor.attempt() + ": " + rejected.error());
      }
      // A rejected pivot applied nothing: the steps before it are undone as for any other step.
      context.getLog().warn("Step {} rejected: {}", step.name(), rejected.error());
      return new StepFailed(
          step.name(),
          cursor.attempt(),
          rejected.error(),
          false,
          "step '" + step.name() + "' was rejected: " + rejected.error(),
          compensations(state, definition, (String) null),
          now);
    }
    if (outcome instanceof Outcome.Unreadable unreadable) {
      return unreadableAnswer(state, definition, step, unreadable);
    }
    String error = errorOf(outcome);
    if (step.retry().allowsAttemptAfter(cursor.attemptsInBudget())) {
      Instant retryAt = now.plus(retryDelay(step.retry(), cursor.attemptsInBudget(), outcome));
      context
          .getLog()
          .info(
              "Step {} attempt {} failed, retrying at {}: {}",
              step.name(),
              cursor.attempt(),
              retryAt,
              error);
      return new StepAttemptFailed(step.name(), cursor.attempt(), error, retryAt, now);
    }
    String noAnswer = "gave no answer after " + cursor.attemptsInBudget() + " attempts";
    if (step.kind() != StepKind.COMPENSATABLE) {
      // The pivot may have happened and cannot be undone, so the steps before it must stay done.
      return failedAfterPivot(step, cursor, error, true, noAnswer + ": " + error);
    }
    context.getLog().warn("Step {} {}: {}", step.name(), noAnswer, error);
    return new StepFailed(
        step.name(),
        cursor.attempt(),
        error,
        true,
        "step '" + step.name() + "' " + noAnswer + ": " + error,
        compensations(state, definition, step.name()),
        now);
  }

  /**
   * The step answered 2xx, so it was applied, but its output is lost: uncertain. Not retried, since
   * the same key gets the same answer; before the pivot it is compensated with the steps before it.
   */
  private SagaEvent unreadableAnswer(
      Started state, SagaDefinition<?> definition, Step step, Outcome.Unreadable unreadable) {
    Cursor cursor = state.cursor();
    if (step.kind() != StepKind.COMPENSATABLE) {
      return failedAfterPivot(
          step,
          cursor,
          unreadable.error(),
          true,
          unreadable.problem() + " (attempt " + cursor.attempt() + ")");
    }
    String reason = "step '" + step.name() + "' " + unreadable.problem();
    context.getLog().warn("Saga compensates: {}", reason);
    return new StepFailed(
        step.name(),
        cursor.attempt(),
        unreadable.error(),
        true,
        reason,
        compensations(state, definition, step.name()),
        clock.instant());
  }

  /**
   * The pivot, or a step after it, cannot go on: past the pivot the saga never compensates, so it
   * waits for an operator, whose resume calls this step again with a fresh retry budget.
   */
  private SagaEvent failedAfterPivot(
      Step step, Cursor cursor, String error, boolean uncertain, String what) {
    String name =
        step.kind() == StepKind.PIVOT
            ? "pivot step '" + step.name() + "'"
            : "step '" + step.name() + "', after the pivot,";
    String reason = name + " " + what;
    context.getLog().error("Saga needs an operator: {}", reason);
    return new StepFailedAfterPivot(
        step.name(), cursor.attempt(), error, uncertain, reason, clock.instant());
  }

  private SagaEvent compensationOutcome(Started state, Step step, Outcome outcome) {
    return compensationOutcome(
        step, state.cursor(), state.compensations().isEmpty(), outcome, clock.instant());
  }

  /**
   * What an attempt of the compensation due at {@code cursor} leads to; {@code last} says whether
   * it is the saga's last compensation.
   */
  private SagaEvent compensationOutcome(
      Step step, Cursor cursor, boolean last, Outcome outcome, Instant now) {
    String name = cursor.step();
    if (outcome instanceof Outcome.Succeeded) {
      return new StepCompensated(name, cursor.attempt(), last, null, now);
    }
    if (outcome instanceof Outcome.Unreadable unreadable) {
      // A 2xx: the undo was applied. Its answer is only kept, as the step's last error, to say so.
      context
          .getLog()
          .warn("Compensation of {} applied, but its answer: {}", name, unreadable.error());
      return new StepCompensated(name, cursor.attempt(), last, unreadable.error(), now);
    }
    String error = errorOf(outcome);
    if (outcome instanceof Outcome.Retryable r
        && step.compensationRetry().allowsAttemptAfter(cursor.attemptsInBudget())) {
      Instant retryAt =
          now.plus(retryDelay(step.compensationRetry(), cursor.attemptsInBudget(), r));
      context
          .getLog()
          .info(
              "Compensation of {} attempt {} failed, retrying at {}: {}",
              name,
              cursor.attempt(),
              retryAt,
              error);
      return new CompensationAttemptFailed(name, cursor.attempt(), error, retryAt, now);
    }
    String reason =
        outcome instanceof Outcome.Permanent
            ? "compensation of step '" + name + "' was rejected: " + error
            : "compensation of step '"
                + name
                + "' failed after "
                + cursor.attemptsInBudget()
                + " attempts: "
                + error;
    context.getLog().error("Saga needs an operator: {}", reason);
    return new CompensationFailed(name, cursor.attempt(), error, reason, now);
  }

  /**
   * The wait before the attempt after {@code attempts} retryable failures: the policy's backoff,
   * with a participant's {@code Retry-After} honoured as far as its {@code maxBackoff}. An attempt
   * the circuit breaker did not send waits what the breaker says, until it lets calls through again
   * and spread after that ({@link Outcome.Retryable#notSent()}), however short or long the policy's
   * backoff: no call was made, and the breaker's spread is what keeps the sagas it turned away from
   * coming back together. Never less than the policy's {@code minBackoff}.
   */
  static Duration retryDelay(RetryPolicy policy, int attempts, Outcome outcome) {
    if (outcome instanceof Outcome.Retryable r && r.notSent() && r.retryAfter().isPresent()) {
      Duration wait = r.retryAfter().get();
      return wait.compareTo(policy.minBackoff()) > 0 ? wait : policy.minBackoff();
    }
    Optional<Duration> retryAfter =
        outcome instanceof Outcome.Retryable r ? r.retryAfter() : Optional.empty();
    return policy.backoffAfter(attempts, retryAfter);
  }

  private static String errorOf(Outcome outcome) {
    if (outcome instanceof Outcome.Retryable r) {
      return r.error();
    }
    if (outcome instanceof Outcome.Permanent p) {
      return p.error();
    }
    throw new IllegalArgumentException("not a failure: " + outcome);
  }

  /**
   * Steps to undo, newest first: every one that succeeded, plus {@code uncertainStep} (which may
   * have happened), as far as they have a compensation. Rejected steps applied nothing.
   */
  private static List<String> compensations(
      Started state, SagaDefinition<?> definition, String uncertainStep) {
    return compensations(
        state, definition, uncertainStep == null ? List.of() : List.of(uncertainStep));
  }

  /**
   * As above, with every step of {@code uncertain} counted as one that may have happened. A group's
   * or a fan-out's own entry is no call: its branches are what is undone.
   */
  private static List<String> compensations(
      Started state, SagaDefinition<?> definition, Collection<String> uncertain) {
    var names = new ArrayList<String>();
    for (StepSnapshot s : state.steps()) {
      boolean applied = s.status() == StepStatus.SUCCEEDED || uncertain.contains(s.name());
      boolean branching = definition.stage(s.name()).map(Stage::branches).orElse(false);
      Optional<Step> step = definition.findStep(s.name());
      if (applied && !branching && step.isPresent() && step.get().hasCompensation()) {
        names.add(s.name());
      }
    }
    Collections.reverse(names);
    return List.copyOf(names);
  }

  /**
   * A cancel or the deadline: the step in flight counts as uncertain; in a parallel group, every
   * branch due or out does, and those out are awaited before anything is undone.
   */
  private CompensationStarted compensationStarted(
      Started state, SagaDefinition<?> definition, String reason, String commandId) {
    GroupRun group = state.group();
    if (group == null) {
      return new CompensationStarted(
          reason,
          commandId,
          compensations(state, definition, state.cursor().step()),
          clock.instant());
    }
    var due = group.due().stream().map(Cursor::step).toList();
    return new CompensationStarted(
        reason,
        commandId,
        compensations(state, definition, due),
        awaited(state, definition, null),
        clock.instant());
  }

  /**
   * The pivot step, once it has been called: from then on the saga can no longer be cancelled,
   * since the pivot (which has no compensation) may already have happened.
   */
  private static Optional<String> pivotReached(Started state, SagaDefinition<?> definition) {
    return state.steps().stream()
        .map(StepSnapshot::name)
        .filter(
            name -> definition.findStep(name).map(s -> s.kind() == StepKind.PIVOT).orElse(false))
        .findFirst();
  }

  /** Whether nothing is due until an operator acts (FAILED) or ever again (ended). */
  private static boolean waitsForOperator(Started state) {
    return state.status() == SagaStatus.FAILED || state.status().isTerminal();
  }

  private String missingDefinition(Started state) {
    return "saga type '"
        + state.type()
        + "' version "
        + state.version()
        + " is not registered on this node; registered versions: "
        + registry.versions(state.type()).stream().map(SagaDefinition::version).toList();
  }

  // ---- driving --------------------------------------------------------------------------------

  /** Acts on a state that is already written: call the step that is due, or wait for it. */
  private void drive(SagaSnapshot state) {
    boolean wrote = !unannounced.isEmpty();
    if (wrote) {
      announceWritten();
      clearTimer();
    }
    if (!(state instanceof Started active)) {
      return;
    }
    if (waitsForOperator(active)) {
      inFlight = null;
      if (!(active instanceof SagaSnapshot.FailedGroup)) {
        branchCalls.clear(); // a failed group still takes the successes of the attempts out
      }
      timers.cancelAll();
      if (!recovering) {
        context
            .getSystem()
            .eventStream()
            .tell(
                new EventStream.Publish<>(
                    new SagaFinished(sagaId, active.type(), active.status(), active.updatedAt())));
      }
      if (active.status().isTerminal() && !recovering) {
        passivateAtOnce();
      } else {
        passivateSoon();
      }
      return;
    }
    timers.cancel(PASSIVATE_TIMER);
    scheduleDeadline(active);
    if (active.group() != null) {
      driveGroup(active);
      return;
    }
    Cursor cursor = active.cursor();
    if (cursor.phase() == Phase.FORWARD && isBranching(active, cursor.step())) {
      // Not a call: its branches start with a write, which a command handler makes.
      context.getSelf().tell(new EnterStage(cursor.step()));
      return;
    }
    if (waitingForSignal != null && !cursor.equals(inFlight)) {
      // The saga moved on from its signal wait (a cancel, the deadline): nothing was called, so
      // nothing is out, and nothing needs undoing.
      timers.cancel(TIMEOUT_TIMER);
      attemptEnded(
          new Outcome.Permanent("stopped waiting for signal '" + waitingForSignal + "'"), false);
      waitingForSignal = null;
      inFlight = null;
    }
    if (waitingForSignal != null) {
      // Still waiting after a write that did not move the saga on (another signal, kept): its
      // durable timer went stale with that write, so it is written again.
      if (wrote) {
        writeSignalWait(active, cursor);
      }
      return;
    }
    if (inFlight != null
        && inFlight.phase() == Phase.FORWARD
        && cursor.phase() == Phase.COMPENSATION) {
      // A forward call is still out (a cancel or the deadline came mid-call): an undo sent now
      // could reach the participant before the call it undoes, which then applies after its
      // compensation. The compensations start once it has answered or timed out (its timeout
      // timer still runs).
      return;
    }
    Instant now = clock.instant();
    if (cursor.retryAt() != null && cursor.retryAt().isAfter(now)) {
      inFlight = null;
      timers.cancel(TIMEOUT_TIMER);
      timers.startSingleTimer(
          RETRY_TIMER,
          new RetryDue(cursor.phase(), cursor.step(), cursor.attempt()),
          Duration.between(now, cursor.retryAt()));
      Instant wakeAt = wakeAt(active, now);
      if (shard != null && waits.durable(now, wakeAt)) {
        // Through the mailbox: the journal's sequence number is read in the running state.
        context.getSelf().tell(Park.backoff(cursor, wakeAt));
      }
    } else {
      invoke(active);
    }
  }

  /** When a saga waiting for its retry next needs to run: the retry, or its deadline before it. */
  private Instant wakeAt(Started state, Instant now) {
    Instant retryAt = state.cursor().retryAt();
    Instant deadline = state.deadline();
    boolean deadlineFirst =
        deadline != null
            && !deadlineSpent
            && state instanceof SagaSnapshot.Running
            && deadline.isAfter(now)
            && deadline.isBefore(retryAt);
    return deadlineFirst ? deadline : retryAt;
  }

  /**
   * Writes the wait's due time as a durable timer; the saga stays in memory, on its actor timer,
   * until that is done. The timer carries the journal's sequence number: once the saga writes
   * anything after it, the timer no longer stands for it (the recovery sweep then wakes it).
   */
  private ReplyEffect<SagaEvent, SagaSnapshot> park(Started state, Park cmd) {
    if (!waitingOn(state, cmd.cursor())) {
      return Effect().noReply();
    }
    long seqNr = lastSequenceNumber(context);
    timerMayBeWritten = true;
    CompletionStage<Void> written =
        cmd.signal() == null
            ? waits.timers().schedule(sagaId, cmd.dueAt(), seqNr)
            : waits.timers().schedule(sagaId, cmd.dueAt(), seqNr, cmd.signal(), cmd.since());
    // Piped as a value, not the write's null: a result that reaches a saga already stopped goes
    // to dead letters, whose listener cannot log a null message.
    context.pipeToSelf(
        written.thenApply(ok -> seqNr),
        (at, failure) -> new Parked(cmd, seqNr, failure == null ? null : failure.toString()));
    return Effect().noReply();
  }

  /** The saga has written an event: a durable timer written before it no longer stands for it. */
  private void clearTimer() {
    if (timerMayBeWritten) {
      timerMayBeWritten = false;
      waits.timers().clear(sagaId, lastSequenceNumber(context));
    }
  }

  /** The due time is durable: the saga leaves memory, unless it has moved on meanwhile. */
  private ReplyEffect<SagaEvent, SagaSnapshot> parked(Started state, Parked cmd) {
    Park park = cmd.park();
    if (cmd.failure() != null) {
      context
          .getLog()
          .warn(
              "Could not write the durable timer for {}; the saga waits in memory: {}",
              park.dueAt(),
              cmd.failure());
    } else if (park.leaveMemory()
        && waitingOn(state, park.cursor())
        && cmd.seqNr() == lastSequenceNumber(context)) {
      // Only while the timer still stands for the saga: a write since (a signal taken, whose
      // outcome is on its way) made it stale, and a saga stopped then would wait on nothing.
      context.getLog().debug("Waiting until {} out of memory", park.dueAt());
      parkedOn = park.cursor();
      waits.timers().passivated();
      passivateAtOnce();
    }
    return Effect().noReply();
  }

  /**
   * Whether the saga still waits, with nothing in flight, for the attempt {@code cursor} names (a
   * signal step's wait calls nobody, so nothing is out).
   */
  private boolean waitingOn(Started state, Cursor cursor) {
    boolean nothingOut = inFlight == null || (waitingForSignal != null && cursor.equals(inFlight));
    return nothingOut && !waitsForOperator(state) && cursor.equals(state.cursor());
  }

  private void scheduleDeadline(Started state) {
    if (state.deadline() != null
        && !deadlineSpent
        && state.status() == SagaStatus.RUNNING
        && !timers.isTimerActive(DEADLINE_TIMER)) {
      Duration left = Duration.between(clock.instant(), state.deadline());
      timers.startSingleTimer(
          DEADLINE_TIMER, new DeadlineDue(), left.isNegative() ? Duration.ZERO : left);
    }
  }

  private void invoke(Started state) {
    Cursor cursor = state.cursor();
    if (parkedOn != null) {
      // It asked to leave memory for a wait it has moved on from since (a signal came just
      // then): it stops any moment, and stop() wakes it again at once. Called now, the step could
      // run here and, its outcome lost with the stop, once more in the next incarnation.
      inFlight = null;
      return;
    }
    if (!fence.mayAct()) {
      // Not an attempt: nothing is called and nothing is written (the node lease logs why, once).
      // The step is looked at again soon; the node either renews its lease or exits meanwhile.
      inFlight = null;
      long jitter = ThreadLocalRandom.current().nextLong(FENCED_RECHECK.toMillis() / 2 + 1);
      timers.startSingleTimer(
          RETRY_TIMER,
          new RetryDue(cursor.phase(), cursor.step(), cursor.attempt()),
          FENCED_RECHECK.plusMillis(jitter));
      return;
    }
    SagaDefinition<?> definition = registry.find(state.type(), state.version()).orElseThrow();
    Step step = definition.step(cursor.step());
    inFlight = cursor;
    StepAction<?> action =
        cursor.phase() == Phase.FORWARD ? step.action() : step.compensation().orElseThrow();
    if (action instanceof AwaitSignal<?> signal) {
      awaitSignal(state, step, signal, cursor);
      return;
    }
    inFlightTelemetry = attemptStarted(state, cursor, step, participantOf(action));
    var invocation =
        new StepRunner.Invocation(
            sagaId,
            definition,
            state,
            step,
            cursor.phase(),
            cursor.attempt(),
            inFlightTelemetry.traceparent(),
            step.name(),
            withdrawn);
    CompletionStage<Outcome> attempt = runner.run(invocation);
    inFlightLocal = attempt instanceof StepRunner.LocalAttempt local ? local : null;
    // An attempt that has already ended (a local step that did its work when called) needs no
    // timeout: its outcome is on its way to this saga now.
    if (!(attempt instanceof CompletableFuture<Outcome> done && done.isDone())) {
      timers.startSingleTimer(
          TIMEOUT_TIMER,
          new AttemptTimedOut(cursor.phase(), step.name(), cursor.attempt(), step.timeout()),
          step.timeout());
    }
    context.pipeToSelf(
        attempt,
        (outcome, failure) ->
            new AttemptFinished(
                cursor.phase(),
                step.name(),
                cursor.attempt(),
                outcome != null
                    ? outcome
                    : Outcome.Retryable.of("step failed unexpectedly: " + failure)));
  }

  /**
   * The saga is at a step that waits for a signal: it takes the signal if it is already kept (or
   * the step's condition says not to wait), else it waits, at most the step's timeout from when the
   * step became due (or, after an operator's resume, from the resume).
   */
  private void awaitSignal(Started state, Step step, AwaitSignal<?> signal, Cursor cursor) {
    waitingForSignal = signal.name();
    inFlightTelemetry = attemptStarted(state, cursor, step, "signal");
    Optional<AttemptFinished> taken = signalOutcome(state, cursor);
    if (taken.isPresent()) {
      tellSelf(taken.get());
      return;
    }
    Instant now = clock.instant();
    Instant timeoutAt = signalWaitStart(state, cursor).plus(step.timeout());
    Duration left = Duration.between(now, timeoutAt);
    var timedOut =
        new AttemptTimedOut(cursor.phase(), step.name(), cursor.attempt(), step.timeout());
    if (left.isNegative() || left.isZero()) {
      tellSelf(timedOut);
      return;
    }
    timers.startSingleTimer(TIMEOUT_TIMER, timedOut, left);
    writeSignalWait(state, cursor);
  }

  /**
   * Writes the signal wait at {@code cursor} as a durable timer, due at its timeout (or the
   * deadline, if sooner) and naming the signal: the sagas waiting for a signal are listed from
   * these. A long wait then leaves memory like a long backoff, and a signal that comes meanwhile
   * starts the saga again.
   */
  private void writeSignalWait(Started state, Cursor cursor) {
    if (shard == null || waits.timers() == DurableTimers.NONE) {
      return;
    }
    Step step = registry.find(state.type(), state.version()).orElseThrow().step(cursor.step());
    Instant now = clock.instant();
    Instant since = signalWaitStart(state, cursor);
    Instant timeoutAt = since.plus(step.timeout());
    Instant deadline = state.deadline();
    Instant wakeAt =
        deadline != null && !deadlineSpent && deadline.isAfter(now) && deadline.isBefore(timeoutAt)
            ? deadline
            : timeoutAt;
    tellSelf(new Park(cursor, wakeAt, waitingForSignal, since, waits.durable(now, wakeAt)));
  }

  /** When the wait of the signal step at {@code cursor} began: its timeout counts from there. */
  static Instant signalWaitStart(Started state, Cursor cursor) {
    StepSnapshot step = state.step(cursor.step());
    Instant due = step != null && step.startedAt() != null ? step.startedAt() : state.updatedAt();
    // Resumed after it failed (a second attempt): from the resume, which changed the status.
    return cursor.attempt() > 1 && state.updatedAt().isAfter(due) ? state.updatedAt() : due;
  }

  /**
   * The answer the signal step at {@code cursor} has now: the kept signal's outcome, or success
   * when its condition says not to wait; empty while it waits.
   */
  private Optional<AttemptFinished> signalOutcome(Started state, Cursor cursor) {
    SagaDefinition<?> definition = registry.find(state.type(), state.version()).orElseThrow();
    Step step = definition.step(cursor.step());
    if (!(step.action() instanceof AwaitSignal<?> signal)) {
      return Optional.empty();
    }
    var invocation =
        new StepRunner.Invocation(
            sagaId, definition, state, step, cursor.phase(), cursor.attempt(), null);
    Optional<Outcome> outcome = runner.signalSkipped(invocation, signal);
    if (outcome.isEmpty() && state.progress().signals().containsKey(signal.name())) {
      outcome =
          Optional.of(
              runner.signalOutcome(
                  invocation, signal, state.progress().signals().get(signal.name())));
    }
    return outcome.map(
        o -> new AttemptFinished(cursor.phase(), step.name(), cursor.attempt(), o, false));
  }

  /**
   * Tells the telemetry that the attempt at {@code cursor} of {@code step} starts; a fan-out's
   * elements share their step's metrics (its name, not the element's).
   */
  private SagaTelemetry.Attempt attemptStarted(
      Started state, Cursor cursor, Step step, String participant) {
    return telemetry.attemptStarted(
        new SagaTelemetry.AttemptStart(
            sagaId,
            state.type(),
            cursor.phase(),
            step.name(),
            cursor.attempt(),
            participant,
            state.traceId(),
            state.parentSpanId()));
  }

  /** The participant label of an attempt of {@code action}: its participant, or "local". */
  private static String participantOf(StepAction<?> action) {
    return action instanceof HttpCall<?> http ? http.participant() : "local";
  }

  /**
   * Whether this is the answer (or the timeout) of a forward attempt still out when the saga turned
   * to compensating (a cancel or the deadline came mid-call): the compensations wait for it.
   */
  private boolean isSupersededForward(Started state, Phase phase, String step, int attempt) {
    Cursor cursor = state.cursor();
    return phase == Phase.FORWARD
        && inFlight != null
        && inFlight.phase() == Phase.FORWARD
        && inFlight.step().equals(step)
        && inFlight.attempt() == attempt
        && cursor != null
        && cursor.phase() == Phase.COMPENSATION;
  }

  /**
   * The forward attempt a compensation waited for has answered ({@code outcome}) or timed out
   * (null) and the compensations start now. A rejected call applied nothing: its step's
   * compensation, the one due, is left out. Any other end leaves the step uncertain (a success or a
   * 2xx that cannot be read applied it, a timeout may have), so it is undone with the others.
   */
  private ReplyEffect<SagaEvent, SagaSnapshot> forwardSettled(
      Started state, String step, int attempt, Outcome outcome) {
    inFlight = null;
    timers.cancel(TIMEOUT_TIMER);
    Cursor cursor = state.cursor();
    if (outcome instanceof Outcome.Permanent rejected
        && cursor.step().equals(step)
        && cursor.attempt() == 1
        && cursor.retryAt() == null) {
      context
          .getLog()
          .info(
              "Attempt {} of step {} was rejected after the saga began compensating;"
                  + " nothing to undo for it: {}",
              attempt,
              step,
              rejected.error());
      var skipped =
          new CompensationSkipped(
              step, attempt, rejected.error(), state.compensations().isEmpty(), clock.instant());
      return Effect().persist(skipped).thenRun(this::drive).thenNoReply();
    }
    context.getLog().debug("Attempt {} of step {} settled; compensating now", attempt, step);
    return Effect().none().thenRun(this::drive).thenNoReply();
  }

  private boolean isInFlight(Started state, Phase phase, String step, int attempt) {
    Cursor cursor = state.cursor();
    return inFlight != null
        && cursor != null
        && inFlight.phase() == phase
        && inFlight.step().equals(step)
        && inFlight.attempt() == attempt
        && cursor.phase() == phase
        && cursor.step().equals(step)
        && cursor.attempt() == attempt;
  }

  /**
   * Passivates once the saga has stayed idle a moment. Asking the shard at once would race with a
   * command already on its way (a resume that revives a FAILED saga, a start right after a
   * not-found): the entity would stop mid-step and its answer would be lost.
   */
  private void passivateSoon() {
    if (shard != null) {
      timers.startSingleTimer(PASSIVATE_TIMER, new PassivateIfIdle(), PASSIVATE_AFTER);
    }
  }

  /**
   * Asks sharding to passivate this saga; every passivation goes through here. Used directly for a
   * saga that has just ended: nothing can change it any more, so no command on its way can be cut
   * short; one that arrives meanwhile is answered by this incarnation or, once it has stopped, by
   * the next one (sharding buffers it). Not waiting matters under load: at 1,000 sagas a second, a
   * second's grace kept a thousand ended sagas alive, and every young collection copied them
   * (BENCHMARKS.md, change 24).
   */
  private void passivateAtOnce() {
    if (shard != null) {
      shard.tell(new ClusterSharding.Passivate<>(context.getSelf()));
    }
  }

  /**
   * Sharding stops a saga that has not passivated itself only to hand its shard over (a rebalance,
   * or its node leaving). A saga still running then wakes itself through sharding: the message
   * waits in the shard region until the shard has its new home, and the saga carries on there at
   * once instead of at the next recovery sweep. Not when no other member is up to take the shard
   * (the last node stopping): the region would hold the message, and its shutdown, until it timed
   * out; the sweep wakes the saga when the cluster starts again.
   */
  private ReplyEffect<SagaEvent, SagaSnapshot> stop(Started state, Stop cmd) {
    // Passivated for a wait: its durable timer wakes it, unless it moved on before it stopped (a
    // cancel, or its own timer, handled between asking and stopping), when it wakes at once (the
    // shard holds the wake and starts it again, here or on the shard's new node).
    boolean parked = parkedOn != null && waitingOn(state, parkedOn);
    if (shard != null
        && !waitsForOperator(state)
        && !parked
        && (parkedOn != null || anotherMemberIsUp())) {
      ClusterSharding.get(context.getSystem())
          .entityRefFor(ENTITY_TYPE_KEY, sagaId)
          .tell(new Wake());
    }
    return Effect().stop().thenNoReply();
  }

  private boolean anotherMemberIsUp() {
    Cluster cluster = Cluster.get(context.getSystem());
    Member self = cluster.selfMember();
    for (Member member : cluster.state().getMembers()) {
      if (!member.equals(self) && member.status().equals(MemberStatus.up())) {
        return true;
      }
    }
    return false;
  }

  private ReplyEffect<SagaEvent, SagaSnapshot> passivateNow() {
    passivateAtOnce();
    return Effect().noReply();
  }

  // ---- recovery, events, views ----------------------------------------------------------------

  @Override
  public SignalHandler<SagaSnapshot> signalHandler() {
    return newSignalHandlerBuilder()
        .onSignal(RecoveryCompleted.instance(), this::recovered)
        .onSignal(PreRestart.instance(), this::restarting)
        .onSignal(PostStop.instance(), state -> stopped.set(true))
        .build();
  }

  /**
   * A write failed and the saga is about to replay its journal (this object lives on): what it
   * replays is not new, and what it applied but could not write was never written.
   */
  private void restarting(SagaSnapshot state) {
    recovered = false;
    // The command whose write failed was never answered: its repeat must be.
    lastAsker = null;
    unannounced.clear();
    unannouncedStates.clear();
  }

  private void recovered(SagaSnapshot state) {
    recovered = true;
    recovering = true;
    try {
      afterRecovery(state);
    } finally {
      recovering = false;
    }
  }

  private void afterRecovery(SagaSnapshot state) {
    if (state instanceof Started active) {
      timerMayBeWritten = true; // an earlier incarnation may have parked

      if (!waitsForOperator(active) && registry.find(active.type(), active.version()).isEmpty()) {
        context.getSelf().tell(new Wake());
      } else {
        drive(active);
      }
    }
  }

  /**
   * Status-changing events carry their index tag in the journal row's adapter manifest ({@link
   * SagaHistory#tagManifest}), and a trigger of the journal table (migrations V4, V5) files them
   * under that tag in {@code event_tag}, in the same transaction. Tagging them the plugin's way
   * ({@code tagsFor}) would make pekko-persistence-jdbc insert every journal row of a batch with
   * its own statement (to learn its ordering for the tag row) instead of one multi-row insert.
   */
  @Override
  public EventAdapter<SagaEvent, SagaEvent> eventAdapter() {
    return new EventAdapter<>() {
      @Override
      public SagaEvent toJournal(SagaEvent event) {
        return event;
      }

      @Override
      public String manifest(SagaEvent event) {
        return event.changesStatus() ? indexTagManifest : "";
      }

      @Override
      public EventSeq<SagaEvent> fromJournal(SagaEvent event, String manifest) {
        return EventSeq.single(event);
      }
    };
  }

  /**
   * Sagas take no snapshots (a saga is a handful of events), so recovery skips the snapshot store:
   * one query fewer for every saga, above all for every new one.
   */
  @Override
  public Recovery recovery() {
    return Recovery.withSnapshotSelectionCriteria(SnapshotSelectionCriteria.none());
  }

  @Override
  public SagaSnapshot emptyState() {
    return new SagaSnapshot.NotStarted();
  }

  @Override
  public EventHandler<SagaSnapshot, SagaEvent> eventHandler() {
    return this::apply;
  }

  private SagaSnapshot apply(SagaSnapshot state, SagaEvent event) {
    SagaSnapshot after = state.apply(event);
    logContext.follow(after);
    if (recovered) {
      unannounced.add(event);
      unannouncedStates.add(after);
    }
    return after;
  }

  /**
   * Tells the telemetry of the events applied since it was last told: called once the journal has
   * confirmed them (every persist goes on to {@link #drive}). The event handler runs before that,
   * so telling it there would count an event whose write then failed (the saga restarts and replays
   * without it).
   */
  private void announceWritten() {
    for (int i = 0; i < unannounced.size(); i++) {
      written(unannounced.get(i), unannouncedStates.get(i));
    }
    unannounced.clear();
    unannouncedStates.clear();
  }

  /** Tells the telemetry of an event just written. */
  private void written(SagaEvent event, SagaSnapshot after) {
    telemetry.eventWritten(sagaId, event, after);
    SagaTelemetry.AttemptEnd end = lastEnd;
    lastEnd = null;
    Instant retryAt = null;
    Instant at = null;
    Phase phase = null;
    String step = null;
    if (event instanceof StepAttemptFailed failed) {
      retryAt = failed.retryAt();
      at = failed.at();
      phase = Phase.FORWARD;
      step = failed.step();
    } else if (event instanceof CompensationAttemptFailed failed) {
      retryAt = failed.retryAt();
      at = failed.at();
      phase = Phase.COMPENSATION;
      step = failed.step();
    }
    if (retryAt != null && after instanceof Started started) {
      Duration delay = Duration.between(at, retryAt);
      boolean asked =
          end != null && end.retryAfter() != null && delay.compareTo(end.retryAfter()) >= 0;
      // A fan-out's elements ({step}/{key}) are counted as their step: labels stay bounded.
      int slash = step.indexOf('/');
      telemetry.retryScheduled(
          started.type(), phase, slash < 0 ? step : step.substring(0, slash), delay, asked);
    }
  }

  /** Tells the telemetry how the attempt in flight ended, if it has not been told yet. */
  private void attemptEnded(Outcome outcome, boolean timedOut) {
    SagaTelemetry.AttemptEnd end = endOf(outcome, timedOut);
    lastEnd = end;
    SagaTelemetry.Attempt attempt = inFlightTelemetry;
    inFlightTelemetry = null;
    if (attempt != null) {
      attempt.ended(end);
    }
  }

  private static SagaTelemetry.AttemptEnd endOf(Outcome outcome, boolean timedOut) {
    if (timedOut) {
      String error =
          outcome instanceof Outcome.Unreadable u
              ? u.error()
              : ((Outcome.Retryable) outcome).error();
      return new SagaTelemetry.AttemptEnd(SagaTelemetry.AttemptOutcome.TIMEOUT, error, false, null);
    }
    if (outcome instanceof Outcome.Succeeded ok) {
      return new SagaTelemetry.AttemptEnd(
          SagaTelemetry.AttemptOutcome.SUCCESS, null, ok.replayed(), null);
    }
    if (outcome instanceof Outcome.Retryable r) {
      return new SagaTelemetry.AttemptEnd(
          SagaTelemetry.AttemptOutcome.RETRYABLE, r.error(), false, r.retryAfter().orElse(null));
    }
    if (outcome instanceof Outcome.Permanent p) {
      return new SagaTelemetry.AttemptEnd(
          SagaTelemetry.AttemptOutcome.REJECTED, p.error(), false, null);
    }
    Outcome.Unreadable u = (Outcome.Unreadable) outcome;
    return new SagaTelemetry.AttemptEnd(
        SagaTelemetry.AttemptOutcome.UNCERTAIN, u.error(), false, null);
  }

  private SagaView view(Started state) {
    return SagaView.of(sagaId, state, registry.find(state.type(), state.version()));
  }
}
