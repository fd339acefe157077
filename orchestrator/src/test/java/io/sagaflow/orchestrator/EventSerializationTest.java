package io.sagaflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializers;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Events are stored as readable JSON that names its schema version, and read back equal. */
class EventSerializationTest {
  private static final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  static void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void everyEventIsJsonWithASchemaVersionAndRoundTrips() throws Exception {
    var now = Instant.parse("2026-11-26T10:15:30.123456Z");
    var output = JsonNodeFactory.instance.objectNode().put("id", "r-1");
    List<SagaEntity.Event> events =
        List.of(
            new SagaEntity.SagaStarted("order", 1, output, "f", "t", "reserve", null, now),
            new SagaEntity.StepSucceeded("reserve", 1, output, "charge", now),
            new SagaEntity.SagaCompleted("ship", 1, output, now),
            new SagaEntity.StepAttemptFailed("charge", 1, "503", now, now),
            new SagaEntity.StepFailed(
                "charge", 2, "422", false, "rejected", List.of("reserve"), now),
            new SagaEntity.CompensationStarted("cancelled", "cmd-1", List.of("reserve"), now),
            new SagaEntity.CompensationAttemptFailed("reserve", 1, "503", now, now),
            new SagaEntity.StepCompensated("reserve", 1, true, now),
            new SagaEntity.CompensationFailed("reserve", 3, "503", "gave up", now),
            new SagaEntity.SagaFailed("definition gone", now),
            new SagaEntity.SagaResumed("cmd-2", now));
    var serialization = SerializationExtension.get(testKit.system().classicSystem());
    var mapper = new ObjectMapper();

    for (SagaEntity.Event event : events) {
      var serializer = serialization.findSerializerFor(event);
      byte[] bytes = serializer.toBinary(event);
      String json = new String(bytes, StandardCharsets.UTF_8);

      assertThat(serializer.getClass().getSimpleName()).isEqualTo("JacksonJsonSerializer");
      assertThat(mapper.readTree(json).get("schemaVersion").asInt()).as(json).isEqualTo(1);
      assertThat(mapper.readTree(json).get("at").asText()).isEqualTo("2026-11-26T10:15:30.123456Z");
      Object back =
          serialization
              .deserialize(
                  bytes, serializer.identifier(), Serializers.manifestFor(serializer, event))
              .get();
      assertThat(back).isEqualTo(event);
    }
  }
}
