package io.sagaflow.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.persistence.index.SagaIndex;
import java.time.Instant;
import java.util.List;

/**
 * {@code GET /v1/sagas}: one page of the saga index, newest first.
 *
 * @param nextCursor null on the last page
 */
record SagaPage(List<Item> items, String nextCursor) {

  /** One saga as the index knows it; {@code failure} is left out when nothing went wrong. */
  record Item(
      String id,
      String type,
      int version,
      SagaStatus status,
      Instant createdAt,
      Instant updatedAt,
      @JsonInclude(JsonInclude.Include.NON_NULL) String failure) {}

  static SagaPage of(SagaIndex.Page page) {
    return new SagaPage(
        page.items().stream()
            .map(
                row ->
                    new Item(
                        row.sagaId(),
                        row.type(),
                        row.version(),
                        row.status(),
                        row.createdAt(),
                        row.updatedAt(),
                        row.failure()))
            .toList(),
        page.nextCursor().orElse(null));
  }
}
