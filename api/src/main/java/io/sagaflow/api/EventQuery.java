package io.sagaflow.api;

import io.sagaflow.orchestrator.history.EventType;
import io.sagaflow.persistence.events.EventFilter;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;

/**
 * What {@code GET /v1/events} asks for: {@code type} (saga types) and {@code event} (event type
 * names), each comma-separated, and where to start: after the {@code Last-Event-ID} header's
 * offset, else after {@code after}, else after the newest event (empty {@code after}).
 */
record EventQuery(EventFilter filter, OptionalLong after) {
  private static final List<String> PARAMETERS = List.of("type", "event", "after");

  static EventQuery parse(List<Map.Entry<String, String>> parameters, Optional<String> lastEventId)
      throws InvalidRequest {
    Map<String, String> values = QueryParameters.check(parameters, PARAMETERS);
    Set<String> types = names(values.get("type"));
    var events = new LinkedHashSet<EventType>();
    for (String name : names(values.get("event"))) {
      events.add(
          EventType.named(name)
              .orElseThrow(
                  () ->
                      new InvalidRequest(
                          Problem.badRequest(
                              "unknown event type '"
                                  + Problem.clip(name)
                                  + "'; expected some of "
                                  + Arrays.stream(EventType.values())
                                      .map(EventType::publicName)
                                      .toList(),
                              "event"))));
    }
    OptionalLong after =
        lastEventId.isPresent()
            ? OptionalLong.of(offset(lastEventId.get(), "Last-Event-ID"))
            : values.containsKey("after")
                ? OptionalLong.of(offset(values.get("after"), "after"))
                : OptionalLong.empty();
    return new EventQuery(new EventFilter(types, events), after);
  }

  /** A comma-separated list of names; none when absent. */
  private static Set<String> names(String value) {
    if (value == null) {
      return Set.of();
    }
    var names = new LinkedHashSet<String>();
    for (String name : value.split(",")) {
      if (!name.isBlank()) {
        names.add(name.trim());
      }
    }
    return names;
  }

  private static long offset(String value, String field) throws InvalidRequest {
    try {
      long offset = Long.parseLong(value.trim());
      if (offset >= 0) {
        return offset;
      }
    } catch (NumberFormatException e) {
      // refused below
    }
    throw new InvalidRequest(
        Problem.badRequest(
            "'"
                + field
                + "' must be an event id (a non-negative integer); got '"
                + Problem.clip(value)
                + "'",
            field));
  }
}
