package io.sagaflow.orchestrator;

import io.sagaflow.orchestrator.dsl.SagaDefinition;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;

/** Resolves a saga type and version to its definition; immutable once built. */
public final class SagaRegistry {
  private final Map<String, NavigableMap<Integer, SagaDefinition>> byType;

  private SagaRegistry(Map<String, NavigableMap<Integer, SagaDefinition>> byType) {
    this.byType = byType;
  }

  public static SagaRegistry of(SagaDefinition... definitions) {
    return of(List.of(definitions));
  }

  public static SagaRegistry of(Collection<SagaDefinition> definitions) {
    var byType = new TreeMap<String, NavigableMap<Integer, SagaDefinition>>();
    for (SagaDefinition d : definitions) {
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
  public Optional<SagaDefinition> find(String type, Integer version) {
    var versions = byType.get(type);
    if (versions == null) {
      return Optional.empty();
    }
    return Optional.ofNullable(
        version == null ? versions.lastEntry().getValue() : versions.get(version));
  }

  public Collection<String> types() {
    return byType.keySet();
  }

  /** Every registered version of a type, oldest first. */
  public Collection<SagaDefinition> versions(String type) {
    var versions = byType.get(type);
    return versions == null ? List.of() : versions.values();
  }

  public List<SagaDefinition> all() {
    return byType.values().stream().flatMap(v -> v.values().stream()).toList();
  }
}
