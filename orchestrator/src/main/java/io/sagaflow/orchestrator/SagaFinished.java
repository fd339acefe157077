package io.sagaflow.orchestrator;

import java.time.Instant;

/**
 * Published on the node's event stream once a saga's terminal event ({@code COMPLETED} or {@code
 * COMPENSATED}) or its move to {@code FAILED} is written, by the node that owns the saga. Listeners
 * (metrics, benchmarks) learn of outcomes without polling.
 */
public record SagaFinished(String sagaId, String type, SagaStatus status, Instant at) {}
