package io.sagaflow.orchestrator.dsl;

/** Where a step stands relative to the saga's point of no return. */
public enum StepKind {
  /** Undone by its compensation (if it has one) when a later step fails before the pivot. */
  COMPENSATABLE,
  /** The point of no return: once it succeeds the saga must complete. Never compensated. */
  PIVOT,
  /** After the pivot: retried until it succeeds, never compensated. */
  RETRIABLE
}
