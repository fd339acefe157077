package io.sagaflow.orchestrator;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.SagaReplies.Invalid;
import io.sagaflow.orchestrator.SagaReplies.Problem;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;

/** Resolves a saga type and version to its definition; immutable once built. */
public final class SagaRegistry {
  private final Map<String, NavigableMap<Integer, SagaDefinition<?>>> byType;

  private SagaRegistry(Map<String, NavigableMap<Integer, SagaDefinition<?>>> byType) {
    this.byType = byType;
  }

  public static SagaRegistry of(SagaDefinition<?>... definitions) {
    return of(List.of(definitions));
  }

  public static SagaRegistry of(Collection<? extends SagaDefinition<?>> definitions) {
    var byType = new TreeMap<String, NavigableMap<Integer, SagaDefinition<?>>>();
    for (SagaDefinition<?> d : definitions) {
      var versions = byType.computeIfAbsent(d.name(), n -> new TreeMap<>());
      if (versions.putIfAbsent(d.version(), d) != null) {
        throw new IllegalArgumentException(
            "saga '" + d.name() + "' version " + d.version() + " is registered twice");
      }
    }
    byType.replaceAll((k, v) -> java.util.Collections.unmodifiableNavigableMap(v));
    return new SagaRegistry(java.util.Collections.unmodifiableMap(byType));
  }

  /** The given version, or the newest when {@code version} is null. */
  public Optional<SagaDefinition<?>> find(String type, Integer version) {
    var versions = byType.get(type);
    if (versions == null) {
      return Optional.empty();
    }
    return Optional.ofNullable(
        version == null ? versions.lastEntry().getValue() : versions.get(version));
  }

  /**
   * Whether a start of {@code type} (at {@code version}, null for the newest) with {@code input}
   * can be accepted: the one wording of a refused start, used by the entity and by the HTTP API
   * (which checks before it asks the entity, so that a refused start leaves nothing behind).
   *
   * @return why not, or empty when it can
   */
  public Optional<Invalid> checkStart(String type, Integer version, JsonNode input) {
    Optional<SagaDefinition<?>> definition = find(type, version);
    if (definition.isEmpty()) {
      Collection<SagaDefinition<?>> known = versions(type);
      String detail =
          known.isEmpty()
              ? "unknown saga type '" + type + "'; registered types: " + types()
              : "saga type '"
                  + type
                  + "' has no version "
                  + version
                  + "; registered versions: "
                  + known.stream().map(SagaDefinition::version).toList();
      return Optional.of(new Invalid(Problem.UNKNOWN_TYPE, detail));
    }
    return definition
        .get()
        .validateInput(input)
        .map(problem -> new Invalid(Problem.INVALID_INPUT, problem));
  }

  public Collection<String> types() {
    return byType.keySet();
  }

  /** Every registered version of a type, oldest first. */
  public Collection<SagaDefinition<?>> versions(String type) {
    var versions = byType.get(type);
    return versions == null ? List.of() : versions.values();
  }

  public List<SagaDefinition<?>> all() {
    return byType.values().stream().flatMap(v -> v.values().stream()).toList();
  }
}
