package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.persistence.index.SagaIndex;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class SagaPageTest {
  private static final List<SagaIndex.Row> ROWS =
      List.of(
          new SagaIndex.Row(
              "a",
              "order",
              1,
              SagaStatus.RUNNING,
              Instant.parse("2025-01-02T03:04:05.123456Z"),
              Instant.parse("2025-01-02T03:04:06Z"),
              null),
          new SagaIndex.Row(
              "b",
              "order",
              2,
              SagaStatus.FAILED,
              Instant.parse("2025-01-02T03:04:05.100Z"),
              Instant.parse("2025-01-02T03:04:06.000000001Z"),
              "why"));

  private static final String ITEMS =
      """
      [{"id": "a", "type": "order", "version": 1, "status": "RUNNING",
        "createdAt": "2025-01-02T03:04:05.123456Z", "updatedAt": "2025-01-02T03:04:06Z"},
       {"id": "b", "type": "order", "version": 2, "status": "FAILED",
        "createdAt": "2025-01-02T03:04:05.100Z", "updatedAt": "2025-01-02T03:04:06.000000001Z",
        "failure": "why"}]""";

  @Test
  void aPageLeavesOutAFailureThatIsNoneAndNamesTheNextCursor() {
    var page = SagaPage.of(new SagaIndex.Page(ROWS, Optional.of("next")));

    assertThat(ApiJson.text(ApiJson.responses().ok(200, page)))
        .isEqualTo(ApiJson.compact("{\"items\": " + ITEMS + ", \"nextCursor\": \"next\"}"));
  }

  @Test
  void theLastPageHasANullCursor() {
    var page = SagaPage.of(new SagaIndex.Page(ROWS, Optional.empty()));

    assertThat(ApiJson.text(ApiJson.responses().ok(200, page)))
        .isEqualTo(ApiJson.compact("{\"items\": " + ITEMS + ", \"nextCursor\": null}"));
  }
}
