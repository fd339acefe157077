package io.sagaflow.persistence.events;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;

/**
 * One saga event as the event stream and webhooks publish it: where it sits in the journal, which
 * saga it belongs to, and the event itself under its public name.
 *
 * @param offset the event's journal ordering: increasing, the same on every node, and what a client
 *     resumes after
 * @param sagaType the saga's type, as its {@code SagaStarted} says
 * @param sequenceNr the event's position in its saga's history, from 1
 * @param type the event's public name ({@code EventType})
 * @param data the event as JSON, in its current shape
 */
public record LifecycleEvent(
    long offset,
    String sagaId,
    String sagaType,
    long sequenceNr,
    String type,
    Instant writtenAt,
    JsonNode data) {}
