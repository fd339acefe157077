package io.sagaflow.orchestrator;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.sagaflow.orchestrator.history.EventType;
import io.sagaflow.orchestrator.history.SagaEvent;
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
    List<SagaEvent> events = everyEvent();
    var serialization = SerializationExtension.get(testKit.system().classicSystem());
    var mapper = new ObjectMapper();

    for (SagaEvent event : events) {
      var serializer = serialization.findSerializerFor(event);
      byte[] bytes = serializer.toBinary(event);
      String json = new String(bytes, StandardCharsets.UTF_8);

      assertThat(serializer.getClass().getSimpleName()).isEqualTo("JacksonJsonSerializer");
      assertThat(mapper.readTree(json).get("schemaVersion").asInt()).as(json).isEqualTo(1);
      assertThat(mapper.readTree(json).get("at").asText()).isEqualTo("2026-11-26T10:15:30.123456Z");
      assertThat(mapper.readTree(json).has("statusChange")).as(json).isFalse();
      Object back =
          serialization
              .deserialize(
                  bytes, serializer.identifier(), Serializers.manifestFor(serializer, event))
              .get();
      assertThat(back).isEqualTo(event);
    }
  }

  private static List<SagaEvent> everyEvent() {
    var now = Instant.parse("2026-11-26T10:15:30.123456Z");
    var output = JsonNodeFactory.instance.objectNode().put("id", "r-1");
    List<SagaEvent> events =
        List.of(
            new SagaEvent.SagaStarted(
                "order", 1, output, "f", "t", "0123456789abcdef", "reserve", null, now),
            new SagaEvent.StepSucceeded("reserve", 1, output, "charge", now),
            new SagaEvent.SagaCompleted("ship", 1, output, now),
            new SagaEvent.StepAttemptFailed("charge", 1, "503", now, now),
            new SagaEvent.StepFailed(
                "charge", 2, "422", false, "rejected", List.of("reserve"), now),
            new SagaEvent.CompensationStarted("cancelled", "cmd-1", List.of("reserve"), now),
            new SagaEvent.CompensationAttemptFailed("reserve", 1, "503", now, now),
            new SagaEvent.StepCompensated("reserve", 1, true, now),
            new SagaEvent.StepCompensated("charge", 1, false, "answered 200 but …", now),
            new SagaEvent.CompensationFailed("reserve", 3, "503", "gave up", now),
            new SagaEvent.SagaFailed("definition gone", now),
            new SagaEvent.SagaResumed("cmd-2", now),
            new SagaEvent.StepFailedAfterPivot(
                "notify", 3, "503", true, "gave no answer after 3 attempts", now),
            new SagaEvent.CompensationSkipped("charge", 1, "answered 422", false, now),
            new SagaEvent.BranchesStarted("reserve", List.of("flight", "hotel"), 0, now),
            new SagaEvent.BranchSucceeded("flight", 1, output, null, false, now),
            new SagaEvent.BranchFailed(
                "hotel",
                2,
                "422",
                false,
                "step 'hotel' was rejected: 422",
                List.of("flight", "quote"),
                List.of("flight"),
                now),
            new SagaEvent.BranchSettled("flight", 1, "422", false, true, now),
            new SagaEvent.SignalReceived(
                "approval",
                com.fasterxml.jackson.databind.node.JsonNodeFactory.instance
                    .objectNode()
                    .put("approved", true),
                "sig-1",
                now));
    assertThat(events.stream().map(Object::getClass).distinct())
        .hasSize(SagaEvent.class.getPermittedSubclasses().length);
    return events;
  }

  @Test
  void aStepCompensatedWrittenBeforeItCouldSayItsAnswerWasUnreadableReadsAsRead() {
    var serialization = SerializationExtension.get(testKit.system().classicSystem());
    var event = new SagaEvent.StepCompensated("reserve", 2, true, Instant.EPOCH);
    var serializer = serialization.findSerializerFor(event);
    String old =
        "{\"step\":\"reserve\",\"attempt\":2,\"sagaCompensated\":true,"
            + "\"at\":\"1970-01-01T00:00:00Z\",\"schemaVersion\":1}";

    Object back =
        serialization
            .deserialize(
                old.getBytes(StandardCharsets.UTF_8),
                serializer.identifier(),
                Serializers.manifestFor(serializer, event))
            .get();

    assertThat(back).isEqualTo(event);
    assertThat(((SagaEvent.StepCompensated) back).unreadable()).isNull();
  }

  @Test
  void aCompensationStartedWrittenBeforeGroupsExistedAwaitsNothing() {
    var serialization = SerializationExtension.get(testKit.system().classicSystem());
    var event =
        new SagaEvent.CompensationStarted("cancelled", "c-1", List.of("reserve"), Instant.EPOCH);
    var serializer = serialization.findSerializerFor(event);
    String old =
        "{\"reason\":\"cancelled\",\"commandId\":\"c-1\",\"compensations\":[\"reserve\"],"
            + "\"at\":\"1970-01-01T00:00:00Z\",\"schemaVersion\":1}";

    Object back =
        serialization
            .deserialize(
                old.getBytes(StandardCharsets.UTF_8),
                serializer.identifier(),
                Serializers.manifestFor(serializer, event))
            .get();

    assertThat(back).isEqualTo(event);
    assertThat(((SagaEvent.CompensationStarted) back).awaiting()).isNull();
  }

  @Test
  void eventsWrittenUnderTheirNamesInSagaEntityStillLoad() throws Exception {
    var serialization = SerializationExtension.get(testKit.system().classicSystem());
    for (SagaEvent event : everyEvent()) {
      if (event instanceof SagaEvent.StepFailedAfterPivot
          || event instanceof SagaEvent.CompensationSkipped
          || EventType.of(event).ordinal() >= EventType.BRANCHES_STARTED.ordinal()) {
        continue; // added after the move: never written under an old name
      }
      var serializer = serialization.findSerializerFor(event);
      String manifest = Serializers.manifestFor(serializer, event);
      String oldManifest =
          "io.sagaflow.orchestrator.SagaEntity$" + event.getClass().getSimpleName();

      Object back =
          serialization
              .deserialize(serializer.toBinary(event), serializer.identifier(), oldManifest)
              .get();

      assertThat(back).isEqualTo(event);
      assertThat(manifest).isEqualTo(event.getClass().getName());
    }
  }
}
