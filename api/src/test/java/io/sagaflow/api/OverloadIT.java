package io.sagaflow.api;

import static io.sagaflow.api.ApiFixture.json;
import static io.sagaflow.api.ApiFixture.orderInput;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Admission control: a node whose starts in flight are at {@code
 * sagaflow.engine.max-starts-in-flight} refuses a start at once with 503 {@code overloaded} and
 * Retry-After, leaves nothing behind, and keeps serving. The limit is 0 here so that every start
 * meets a full node without having to slow the journal down.
 */
class OverloadIT {

  @Test
  void aStartBeyondTheLimitIsRefusedAtOnceAndLeavesNothing() {
    try (ApiFixture api =
        ApiFixture.start(Map.of("sagaflow.engine.max-starts-in-flight", 0), Map.of(), List.of())) {
      var response =
          api.postJson(
              "/v1/sagas",
              "{\"type\":\"order\",\"id\":\"busy-1\",\"input\":" + orderInput("busy-1") + "}");

      assertThat(response.statusCode()).isEqualTo(503);
      // As documented: openapi.yaml's 503 of POST /v1/sagas, overloaded variant.
      OpenApiContract.parse(api.get("/openapi.yaml").body()).check("POST", "/v1/sagas", response);
      assertThat(response.headers().firstValue("Content-Type"))
          .hasValue("application/problem+json");
      assertThat(response.headers().firstValue("Retry-After")).hasValue("1");
      var problem = json(response);
      assertThat(problem.get("type").asText())
          .isEqualTo("https://sagaflow.dev/problems/overloaded");
      assertThat(problem.get("detail").asText())
          .contains("saga 'busy-1'")
          .contains("nothing was started")
          .contains("sagaflow.engine.max-starts-in-flight");
      assertThat(
              api.db.count("select count(*) from event_journal where persistence_id like 'saga|%'"))
          .isZero();
      assertThat(api.get("/v1/sagas/busy-1").statusCode()).isEqualTo(404);
      assertThat(api.get("/v1/saga-types").statusCode()).isEqualTo(200);
    }
  }
}
