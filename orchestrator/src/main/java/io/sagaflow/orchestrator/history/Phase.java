package io.sagaflow.orchestrator.history;

/** Whether a saga is driving its forward steps or undoing them. */
public enum Phase {
  FORWARD,
  COMPENSATION
}
