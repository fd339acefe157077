package io.sagaflow.orchestrator.dsl;

/**
 * What a step (or its compensation) does: call an HTTP participant, run a local function, or (a
 * step only) wait for a signal.
 *
 * @param <I> the saga's input type, as the action's {@link StepContext} gives it
 */
public sealed interface StepAction<I> permits HttpCall, LocalCall, AwaitSignal {}
