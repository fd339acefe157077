package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.orchestrator.SagaRegistry;
import org.junit.jupiter.api.Test;

class SagaTypeListTest {

  @Test
  void listsEveryTypeByNameWithItsVersionsAndTheNewest() {
    var registry =
        SagaRegistry.of(
            ApiFixture.STRICT, SagaTypeBodyTest.V2, ApiFixture.ORDER, SagaTypeBodyTest.V1);

    assertThat(ApiJson.text(ApiJson.responses().ok(200, SagaTypeList.of(registry))))
        .isEqualTo(
            ApiJson.compact(
                """
                {"items": [
                  {"type": "order", "versions": [1], "latestVersion": 1},
                  {"type": "shapes", "versions": [1, 2], "latestVersion": 2},
                  {"type": "strict", "versions": [1], "latestVersion": 1}]}
                """));
  }
}
