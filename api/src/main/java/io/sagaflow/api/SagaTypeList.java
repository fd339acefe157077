package io.sagaflow.api;

import io.sagaflow.orchestrator.SagaRegistry;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import java.util.List;

/** {@code GET /v1/saga-types}: every registered type with its versions. */
record SagaTypeList(List<Item> items) {

  /** One type: its versions, oldest first, and the one a start without a version gets. */
  record Item(String type, List<Integer> versions, int latestVersion) {}

  static SagaTypeList of(SagaRegistry registry) {
    return new SagaTypeList(
        registry.types().stream()
            .map(
                type ->
                    new Item(
                        type,
                        registry.versions(type).stream().map(SagaDefinition::version).toList(),
                        registry.find(type, null).orElseThrow().version()))
            .toList());
  }
}
