package io.sagaflow.persistence.events;

import io.sagaflow.orchestrator.history.EventType;
import java.util.Set;

/**
 * Which lifecycle events a reader wants: of these saga types and these event types; an empty set
 * means all.
 */
public record EventFilter(Set<String> sagaTypes, Set<EventType> eventTypes) {

  public static final EventFilter ALL = new EventFilter(Set.of(), Set.of());

  public EventFilter {
    sagaTypes = Set.copyOf(sagaTypes);
    eventTypes = Set.copyOf(eventTypes);
  }

  public boolean acceptsEvent(EventType type) {
    return eventTypes.isEmpty() || eventTypes.contains(type);
  }

  public boolean acceptsSagaType(String sagaType) {
    return sagaTypes.isEmpty() || sagaTypes.contains(sagaType);
  }
}
