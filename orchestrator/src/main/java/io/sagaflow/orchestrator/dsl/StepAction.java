package io.sagaflow.orchestrator.dsl;

/** What a step (or its compensation) does: call an HTTP participant, or run a local function. */
public sealed interface StepAction permits HttpCall, LocalCall {}
