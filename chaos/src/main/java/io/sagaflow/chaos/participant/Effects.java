package io.sagaflow.chaos.participant;

import io.sagaflow.chaos.format.LedgerEntry.Call;
import io.sagaflow.chaos.format.LedgerEntry.Effect;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The participant's state: per step of a saga, how often its forward call and its compensation were
 * delivered, the effects in force, the tombstone a compensation leaves, and the first answer of
 * each key (what a repeat of the key gets). One lock per step, held only to decide and record an
 * effect.
 */
final class Effects {

  /** What a delivery did, and what to answer. */
  record Applied(Effect effect, Answer answer, boolean skipped) {}

  private final Map<String, StepState> steps = new ConcurrentHashMap<>();
  private final boolean dedup;
  private final int skipCompensationEvery;
  private final AtomicLong compensations = new AtomicLong();

  Effects(boolean dedup, int skipCompensationEvery) {
    this.dedup = dedup;
    this.skipCompensationEvery = skipCompensationEvery;
  }

  /** The number of this delivery of the target's key: 1 for the first. */
  int nextDelivery(Target target) {
    StepState state = state(target);
    synchronized (state) {
      return target.call() == Call.FORWARD
          ? ++state.forwardDeliveries
          : ++state.compensationDeliveries;
    }
  }

  /** Applies (or not) a delivery that got past the faults that strike before any effect. */
  Applied apply(Target target, Fault fault) {
    StepState state = state(target);
    synchronized (state) {
      return target.call() == Call.FORWARD
          ? forward(state, target, fault)
          : undo(state, target, fault);
    }
  }

  private Applied forward(StepState state, Target target, Fault fault) {
    if (state.compensated) {
      return new Applied(
          Effect.REFUSED_AFTER_COMPENSATION,
          Answer.error(409, "this step was compensated before this call arrived"),
          false);
    }
    if (dedup && state.forwardAnswer != null) {
      return new Applied(Effect.DEDUPLICATED, state.forwardAnswer, false);
    }
    state.applied++;
    Answer answer = answer(target, fault, Effect.APPLIED);
    if (state.forwardAnswer == null) {
      state.forwardAnswer = answer;
    }
    return new Applied(Effect.APPLIED, answer, false);
  }

  private Applied undo(StepState state, Target target, Fault fault) {
    if (dedup && state.compensationAnswer != null) {
      return new Applied(Effect.DEDUPLICATED, state.compensationAnswer, false);
    }
    if (skipCompensationEvery > 0 && compensations.incrementAndGet() % skipCompensationEvery == 0) {
      // The negative control: claims success, undoes nothing, leaves no tombstone.
      state.compensationAnswer = Answer.ok(target, Effect.NOOP.name());
      return new Applied(Effect.NOOP, state.compensationAnswer, true);
    }
    state.compensated = true;
    Effect effect = state.applied > 0 ? Effect.UNDONE : Effect.NOOP;
    if (state.applied > 0) {
      state.applied--;
    }
    Answer answer = answer(target, fault, effect);
    if (state.compensationAnswer == null) {
      state.compensationAnswer = answer;
    }
    return new Applied(effect, answer, false);
  }

  private static Answer answer(Target target, Fault fault, Effect effect) {
    return switch (fault) {
      case OVERSIZED -> Answer.oversized();
      case MALFORMED -> Answer.malformed();
      default -> Answer.ok(target, effect.name());
    };
  }

  private StepState state(Target target) {
    return steps.computeIfAbsent(target.stepKey(), k -> new StepState());
  }

  private static final class StepState {
    int forwardDeliveries;
    int compensationDeliveries;
    int applied;
    boolean compensated;
    Answer forwardAnswer;
    Answer compensationAnswer;
  }
}
