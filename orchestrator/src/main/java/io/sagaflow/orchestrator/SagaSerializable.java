package io.sagaflow.orchestrator;

/**
 * Marker for everything Sagaflow persists or sends between nodes; bound to Jackson JSON in {@code
 * reference.conf} so the journal stays readable.
 */
public interface SagaSerializable {}
