package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class CancelRequestTest {

  @Test
  void noBodyGivesNoReason() throws Exception {
    assertThat(CancelRequest.parse(null).reason()).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"{}", "{\"other\":1}"})
  void noReasonInTheBodyGivesNoReason(String body) throws Exception {
    assertThat(CancelRequest.parse(json(body)).reason()).isEmpty();
  }

  @Test
  void aNullReasonIsRefusedNotTakenForNone() {
    assertThat(Refusal.of(() -> CancelRequest.parse(json("{\"reason\":null}"))))
        .isEqualTo(Problem.badRequest("'reason' is null; leave it out for no reason", "reason"));
  }

  @Test
  void readsTheReason() throws Exception {
    assertThat(CancelRequest.parse(json("{\"reason\":\"customer asked\"}")).reason())
        .isEqualTo("customer asked");
  }

  @ParameterizedTest
  @ValueSource(strings = {"[]", "\"stop\"", "5"})
  void aBodyThatIsNoObjectIsRefused(String body) {
    assertThat(Refusal.of(() -> CancelRequest.parse(json(body))))
        .isEqualTo(Problem.badRequest("the body must be a JSON object", null));
  }

  @ParameterizedTest
  @ValueSource(strings = {"5", "{}", "[]", "true"})
  void aReasonThatIsNoStringIsRefused(String reason) {
    assertThat(Refusal.of(() -> CancelRequest.parse(json("{\"reason\":" + reason + "}"))))
        .isEqualTo(Problem.badRequest("'reason' must be a string", "reason"));
  }

  private static JsonNode json(String text) throws IOException {
    return ApiJson.mapper().readTree(text);
  }
}
