package io.sagaflow.orchestrator;

import io.sagaflow.orchestrator.history.Cursor;
import io.sagaflow.orchestrator.history.SagaSnapshot;
import io.sagaflow.orchestrator.telemetry.SagaMdc;
import org.apache.pekko.actor.typed.Behavior;
import org.apache.pekko.actor.typed.BehaviorInterceptor;
import org.apache.pekko.actor.typed.Signal;
import org.apache.pekko.actor.typed.TypedActorContext;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.slf4j.MDC;

/**
 * A saga's keys of the MDC ({@link SagaMdc}) around every message it handles: its id and type, and
 * the step and attempt the message is about (an attempt's answer, timeout or retry), else those
 * that are due. Follows the state through the event handler, on the saga's thread only.
 *
 * <p>An interceptor of its own rather than {@code Behaviors.withMdc}: that one turns a Java map
 * into a Scala map and merges it with the static one for every message, which showed in the profile
 * of the happy path (a map per message, and one per event to follow the state). This one puts the
 * few keys straight into the MDC, from strings kept per step; like {@code withMdc}, it clears the
 * MDC after each message.
 */
final class SagaLogContext extends BehaviorInterceptor<Object, Object> {
  private final String sagaId;
  private String type;
  private String step;
  private int attempt;

  /** {@link #attempt} as text, made once per attempt; null for none. */
  private String attemptText;

  SagaLogContext(String sagaId) {
    super(Object.class);
    this.sagaId = sagaId;
  }

  /**
   * {@code entity} with its MDC set around every message. Every, not every {@code Command}: Pekko
   * lets the messages an interceptor is not for pass it untouched, and the journal's replies, on
   * which the saga calls its next step (and Pekko logs a failed write), are not commands.
   */
  Behavior<SagaEntity.Command> around(Behavior<SagaEntity.Command> entity) {
    @SuppressWarnings("unchecked")
    Behavior<Object> everyMessage = (Behavior<Object>) (Behavior<?>) entity;
    return Behaviors.intercept(() -> this, everyMessage).narrow();
  }

  /** The keys from now on are those of {@code state}. */
  void follow(SagaSnapshot state) {
    if (state instanceof SagaSnapshot.Started started) {
      type = started.type();
      Cursor cursor = started.cursor();
      if (cursor == null) {
        step = null;
        attempt = 0;
        attemptText = null;
      } else if (cursor.attempt() != attempt || !cursor.step().equals(step)) {
        step = cursor.step();
        attempt = cursor.attempt();
        attemptText = attempt > 0 ? Integer.toString(attempt) : null;
      }
    }
  }

  @Override
  public Behavior<Object> aroundStart(
      TypedActorContext<Object> ctx, PreStartTarget<Object> target) {
    try {
      put(step, attemptText);
      return target.start(ctx);
    } finally {
      MDC.clear();
    }
  }

  @Override
  public Behavior<Object> aroundReceive(
      TypedActorContext<Object> ctx, Object message, ReceiveTarget<Object> target) {
    try {
      if (message instanceof SagaEntity.AttemptFinished m) {
        put(m.step(), text(m.attempt()));
      } else if (message instanceof SagaEntity.AttemptTimedOut m) {
        put(m.step(), text(m.attempt()));
      } else if (message instanceof SagaEntity.RetryDue m) {
        put(m.step(), text(m.attempt()));
      } else {
        put(step, attemptText);
      }
      return target.apply(ctx, message);
    } finally {
      MDC.clear();
    }
  }

  @Override
  public Behavior<Object> aroundSignal(
      TypedActorContext<Object> ctx, Signal signal, SignalTarget<Object> target) {
    try {
      put(step, attemptText);
      return target.apply(ctx, signal);
    } finally {
      MDC.clear();
    }
  }

  private String text(int n) {
    if (n <= 0) {
      return null;
    }
    return n == attempt ? attemptText : Integer.toString(n);
  }

  private void put(String stepNow, String attemptNow) {
    MDC.put(SagaMdc.SAGA_ID, sagaId);
    if (type != null) {
      MDC.put(SagaMdc.SAGA_TYPE, type);
    }
    if (stepNow != null) {
      MDC.put(SagaMdc.SAGA_STEP, stepNow);
    }
    if (attemptNow != null) {
      MDC.put(SagaMdc.SAGA_ATTEMPT, attemptNow);
    }
  }
}
