package io.sagaflow.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import io.sagaflow.orchestrator.SagaEntity;
import io.sagaflow.orchestrator.SagaRegistry;
import io.sagaflow.orchestrator.SagaReplies;
import io.sagaflow.orchestrator.SagaReplies.Accepted;
import io.sagaflow.orchestrator.SagaReplies.Conflict;
import io.sagaflow.orchestrator.SagaReplies.Done;
import io.sagaflow.orchestrator.SagaReplies.Invalid;
import io.sagaflow.orchestrator.SagaReplies.OperatorReply;
import io.sagaflow.orchestrator.SagaReplies.Refused;
import io.sagaflow.orchestrator.SagaReplies.StartReply;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.history.Cursor;
import io.sagaflow.orchestrator.history.SagaEvent;
import io.sagaflow.orchestrator.history.SagaHistory;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import io.sagaflow.orchestrator.internal.StepRunner;
import io.sagaflow.testkit.ScriptedParticipants.Target;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Function;
import java.util.stream.Stream;
import org.apache.pekko.actor.testkit.typed.javadsl.TestProbe;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import org.apache.pekko.persistence.testkit.javadsl.EventSourcedBehaviorTestKit.SerializationSettings;
import org.apache.pekko.persistence.testkit.javadsl.PersistenceTestKit;

/**
 * A saga the kit has started: what else happens to it (a cancel, time passing, a resume) and then
 * {@link #expect()}. Each of these runs the saga as far as it goes before it returns, so what
 * follows sees a saga that has nothing left to do at that instant.
 *
 * <p>Time passes only when the test lets it: {@link #timePasses} and {@link #resumed()} and {@link
 * #expect()} move the virtual time to each moment something is due (a retry, a call's timeout, the
 * deadline) and let the saga act on it, until nothing is left to do.
 *
 * @param <I> the saga's input type
 */
public final class SagaRun<I> {

  /** The virtual time a saga gets to end, or to need an operator, before a test gives up on it. */
  static final Duration GIVE_UP_AFTER = Duration.ofDays(30);

  /**
   * The moments a run waits for before a test gives up on it. Each costs the manual scheduler's 100
   * ms of real time, so this bounds a saga that never ends to half a minute.
   */
  static final int MAX_WAITS = 300;

  /** How long a local step's function may run, in real time, before the test gives up on it. */
  static final Duration LOCAL_STEP_PATIENCE = Duration.ofSeconds(10);

  /** How long, in real time, a saga's entity may take to stop once its scenario is over. */
  private static final Duration STOP_PATIENCE = Duration.ofSeconds(10);

  private final SagaTestKit kit;
  private final SagaDefinition<I> definition;
  private final String sagaId;
  private final String persistenceId;
  private final Clock clock;
  private final Instant startedAt;
  private final PersistenceTestKit journal;
  private final CallLog log = new CallLog();
  private final LocalSteps localSteps;
  private final AtomicReference<ActorRef<SagaEntity.Command>> self = new AtomicReference<>();
  private final EventSourcedBehaviorTestKit<SagaEntity.Command, SagaEvent, SagaSnapshot> entity;
  private final List<String> happenings = new ArrayList<>();
  private String refusal;
  private int waits;
  private int operatorCommands;

  private SagaRun(
      SagaTestKit kit,
      SagaDefinition<I> definition,
      Map<Target, List<Answer>> script,
      String sagaId) {
    this.kit = kit;
    this.definition = definition;
    this.sagaId = sagaId;
    this.persistenceId = SagaHistory.persistenceId(sagaId).id();
    this.clock = kit.clock();
    this.startedAt = clock.instant();
    this.journal = PersistenceTestKit.create(kit.actors().system());
    this.localSteps = new LocalSteps(kit.localSteps(), log, this::eventCount, clock);
    var runner =
        new StepRunner(
            new ScriptedParticipants(sagaId, script, log, clock), kit.mapper(), localSteps);
    var registry = SagaRegistry.of(definition);
    // Set up inside the behavior to learn the entity's ref, which the test kit keeps to itself:
    // it is what stops the entity once the scenario is over.
    Behavior<SagaEntity.Command> behavior =
        Behaviors.setup(
            context -> {
              self.set(context.getSelf());
              return SagaEntity.create(sagaId, null, registry, runner, clock);
            });
    // Pekko's behavior test kit clears the whole journal when it is made, so a saga id may come
    // back in the next scenario (the entity before is stopped by then). Every
    // command, reply, event and state it sees must go through the journal's serializer, but need
    // not come back equal: a number in a step's output may come back as another kind of JSON
    // number (90.00 as 90.0), which is the same value to the saga that reads it.
    this.entity =
        EventSourcedBehaviorTestKit.create(
            kit.actors().system(),
            behavior,
            new SerializationSettings(true, false, true, true, true));
  }

  static <I> SagaRun<I> start(
      SagaTestKit kit,
      SagaDefinition<I> definition,
      Map<Target, List<Answer>> script,
      String sagaId,
      JsonNode input) {
    kit.stopCurrent();
    var run = new SagaRun<>(kit, definition, script, sagaId);
    kit.runs(run);
    run.begin(input);
    return run;
  }

  private void begin(JsonNode input) {
    StartReply reply =
        entity
            .<StartReply>runCommand(
                replyTo ->
                    new SagaEntity.Start(definition.name(), definition.version(), input, replyTo))
            .reply();
    if (reply instanceof Accepted) {
      happened("started");
    } else if (reply instanceof Invalid invalid) {
      refused("start", invalid.problem() + ": " + invalid.detail());
    } else {
      refused("start", ((Conflict) reply).detail());
    }
    settle();
  }

  /**
   * An operator cancels the saga now, with {@code reason}: a running saga before its pivot is
   * compensated. A cancel the saga refuses (it has ended, or passed its pivot) is kept for {@link
   * Expectations#refused}.
   */
  public SagaRun<I> cancelled(String reason) {
    String commandId = "cancel-" + ++operatorCommands;
    OperatorReply reply =
        entity
            .<OperatorReply>runCommand(replyTo -> new SagaEntity.Cancel(commandId, reason, replyTo))
            .reply();
    answered("cancel" + (reason == null ? "" : " (" + reason + ")"), reply);
    settle();
    return this;
  }

  /**
   * The saga runs until it waits for an operator or has ended, then an operator resumes it. A
   * resume the saga refuses (it is not {@code FAILED}) is kept for {@link Expectations#refused}.
   */
  public SagaRun<I> resumed() {
    runToRest("resumed()");
    String commandId = "resume-" + ++operatorCommands;
    OperatorReply reply =
        entity
            .<OperatorReply>runCommand(replyTo -> new SagaEntity.Resume(commandId, replyTo))
            .reply();
    answered("resume", reply);
    settle();
    return this;
  }

  /**
   * The signal {@code name} arrives now, with {@code payload} (any value Jackson writes; null for
   * none), after the saga has done all it can without time passing. A signal the saga refuses (it
   * waits for no such signal, is not {@code RUNNING}, or has it already) is kept for {@link
   * Expectations#refused}.
   */
  public SagaRun<I> signalled(String name, Object payload) {
    settle();
    String commandId = "signal-" + ++operatorCommands;
    JsonNode json = payload == null ? NullNode.getInstance() : kit.mapper().valueToTree(payload);
    OperatorReply reply =
        entity
            .<OperatorReply>runCommand(
                replyTo -> new SagaEntity.Signal(name, json, commandId, replyTo))
            .reply();
    answered("signal " + name, reply);
    settle();
    return this;
  }

  /** {@code duration} of virtual time passes, the saga acting on whatever falls due meanwhile. */
  public SagaRun<I> timePasses(Duration duration) {
    Objects.requireNonNull(duration, "duration");
    if (duration.isNegative()) {
      throw new IllegalArgumentException("time cannot pass backwards: " + duration);
    }
    Instant until = clock.instant().plus(duration);
    run(until, false, "timePasses(" + duration + ")");
    Duration rest = Duration.between(clock.instant(), until);
    if (!rest.isZero() && !rest.isNegative()) {
      kit.timePasses(rest);
      settle();
    }
    happened(Report.human(duration) + " passed");
    return this;
  }

  /**
   * Runs the saga until it has ended or waits for an operator ({@code FAILED}), or nothing more can
   * happen to it, and returns what to expect of it.
   *
   * @throws AssertionError when it does neither within 300 waits (for a retry, a timeout or the
   *     deadline) or 30 days of virtual time
   */
  public Expectations expect() {
    return new Expectations(report(runToRest("expect()")));
  }

  /** Stops the saga's entity, once it has written what it was writing; the scenario is over. */
  void stop() {
    ActorRef<SagaEntity.Command> ref = self.getAndSet(null);
    if (ref != null) {
      TestProbe<Void> watcher = kit.actors().createTestProbe();
      ref.tell(new SagaEntity.Stop());
      watcher.expectTerminated(ref, STOP_PATIENCE);
      watcher.stop();
    }
  }

  private SagaSnapshot runToRest(String what) {
    return run(startedAt.plus(GIVE_UP_AFTER), true, what);
  }

  /**
   * Moves the virtual time to each moment something falls due, as far as {@code until}, letting the
   * saga act at each; with {@code untilAtRest}, stops once it has ended or waits for an operator.
   */
  private SagaSnapshot run(Instant until, boolean untilAtRest, String what) {
    SagaSnapshot state = settle();
    while (!(untilAtRest && atRest(state))) {
      Instant now = clock.instant();
      Optional<Instant> due = nextDue(state, now);
      if (due.isEmpty()) {
        return state;
      }
      if (due.get().isAfter(until)) {
        if (untilAtRest) {
          throw report(state)
              .fail(
                  what
                      + ": the saga has neither ended nor stopped for an operator within "
                      + Report.human(GIVE_UP_AFTER)
                      + " of virtual time");
        }
        return state;
      }
      if (++waits > MAX_WAITS) {
        throw report(state)
            .fail(
                what
                    + ": the saga has neither ended nor stopped for an operator after "
                    + MAX_WAITS
                    + " waits for a retry, a timeout or the deadline ("
                    + Report.human(Duration.between(startedAt, now))
                    + " of virtual time); script an answer that lets it end");
      }
      kit.timePasses(Duration.between(now, due.get()));
      state = settle();
    }
    return state;
  }

  private static boolean atRest(SagaSnapshot state) {
    return !(state instanceof SagaSnapshot.Started started)
        || started.status() == SagaStatus.FAILED
        || started.status().isTerminal();
  }

  /**
   * The next moment after {@code now} the saga has something due: the retry its cursor waits for,
   * its deadline while it runs forward, or the timeout of a call left without an answer.
   */
  private Optional<Instant> nextDue(SagaSnapshot state, Instant now) {
    Stream<Instant> retry = Stream.empty();
    Stream<Instant> deadline = Stream.empty();
    if (state instanceof SagaSnapshot.Started started && !atRest(state)) {
      retry = started.cursors().stream().map(Cursor::retryAt).filter(Objects::nonNull);
      if (started.status() == SagaStatus.RUNNING) {
        deadline = Stream.ofNullable(started.deadline());
      }
    }
    return Stream.of(retry, deadline, log.nextTimeout(now).stream())
        .flatMap(Function.identity())
        .filter(at -> at.isAfter(now))
        .min(Instant::compareTo);
  }

  /**
   * Lets the saga do all it can without time passing, and returns its state then. Settled means: no
   * local function is running, and across a whole round trip through the entity's mailbox its state
   * did not change and it made no attempt. An attempt's answer reaches the entity as a message it
   * sends itself while it makes the attempt, and a state query is answered only once what the
   * entity was writing is written, so a saga with something left to do shows it by the next answer.
   * The state compared is the one in the answer, never read after it: the entity may already be
   * acting again by then.
   */
  private SagaSnapshot settle() {
    Progress before = null;
    while (true) {
      awaitLocalSteps();
      SagaSnapshot state = state();
      Progress now = new Progress(state, log.size(), localSteps.running());
      if (now.localRunning() == 0 && now.equals(before)) {
        return state;
      }
      before = now;
    }
  }

  /**
   * Where a saga stood at one state query: the state it answered, and the attempts made and local
   * functions running once it had.
   */
  private record Progress(SagaSnapshot state, int attempts, int localRunning) {}

  /** The entity's state, or a failed test when it does not answer (it crashed: see the log). */
  private SagaSnapshot state() {
    try {
      return entity.getState();
    } catch (AssertionError e) {
      throw new AssertionError(
          "saga '"
              + sagaId
              + "': its entity did not answer a state query in time; it may have failed (see the"
              + " log)",
          e);
    }
  }

  /** Waits, in real time, for the local step in flight to end and its outcome to be written. */
  private void awaitLocalSteps() {
    long giveUpAt = System.nanoTime() + LOCAL_STEP_PATIENCE.toNanos();
    while (localSteps.running() > 0 || log.awaitsLocalOutcome(eventCount())) {
      if (System.nanoTime() > giveUpAt) {
        throw report(state())
            .fail(
                "a local step's function was still running after "
                    + Report.human(LOCAL_STEP_PATIENCE)
                    + " of real time: the kit waits for local steps, whose timeouts pass only"
                    + " for a function that has returned");
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
    }
  }

  private int eventCount() {
    return journal.persistedInStorage(persistenceId).size();
  }

  private List<SagaEvent> events() {
    return journal.persistedInStorage(persistenceId).stream().map(SagaEvent.class::cast).toList();
  }

  private Report report(SagaSnapshot state) {
    List<SagaEvent> events = events();
    return new Report(
        sagaId,
        definition,
        startedAt,
        clock.instant(),
        state,
        events,
        log.calls(),
        happenings,
        refusal,
        kit.mapper());
  }

  private void answered(String command, OperatorReply reply) {
    if (reply instanceof Done) {
      happened(command);
    } else if (reply instanceof Refused refused) {
      refused(command, refused.detail());
    } else if (reply instanceof SagaReplies.UnknownSignal unknown) {
      refused(command, unknown.detail());
    } else {
      refused(command, "no saga '" + sagaId + "'");
    }
  }

  private void refused(String command, String detail) {
    refusal = command + " refused: " + detail;
    happened(refusal);
  }

  private void happened(String what) {
    String at = "+" + Report.human(Duration.between(startedAt, clock.instant()));
    happenings.add(String.format("%-9s %s", at, what));
  }
}
