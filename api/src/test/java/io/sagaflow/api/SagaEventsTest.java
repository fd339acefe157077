package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.TextNode;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class SagaEventsTest {

  @Test
  void eachEventHasItsPositionTypeWriteTimeAndData() throws Exception {
    var events =
        new SagaEvents(
            "s-1",
            List.of(
                new SagaEvents.Event(
                    1,
                    "SagaStarted",
                    Instant.ofEpochMilli(1735787045123L),
                    ApiJson.mapper().readTree("{\"a\": [1, 2.5, null, \"x\"], \"b\": {}}")),
                new SagaEvents.Event(
                    2,
                    "SagaCompleted",
                    Instant.ofEpochMilli(1735787046000L),
                    TextNode.valueOf("(not JSON)"))));

    assertThat(ApiJson.text(ApiJson.responses().ok(200, events)))
        .isEqualTo(
            ApiJson.compact(
                """
                {"id": "s-1", "events": [
                  {"sequenceNr": 1, "type": "SagaStarted", "writtenAt": "2025-01-02T03:04:05.123Z",
                   "data": {"a": [1, 2.5, null, "x"], "b": {}}},
                  {"sequenceNr": 2, "type": "SagaCompleted", "writtenAt": "2025-01-02T03:04:06Z",
                   "data": "(not JSON)"}]}
                """));
  }
}
