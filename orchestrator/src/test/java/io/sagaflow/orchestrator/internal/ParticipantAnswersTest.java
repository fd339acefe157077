package io.sagaflow.orchestrator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ParticipantAnswersTest {
  private static final String CALL = "payments POST /charges";

  private static Outcome answer(int status, String reason, String body, boolean json) {
    return ParticipantAnswers.classify(
        CALL,
        status,
        reason,
        Optional.of(Duration.ofSeconds(7)),
        body.getBytes(StandardCharsets.UTF_8),
        StandardCharsets.UTF_8,
        json);
  }

  @Test
  void aSuccessCarriesItsJsonBodyAsTheOutput() {
    assertThat(answer(200, "OK", "{\"chargeId\":\"c-1\"}", true))
        .isEqualTo(
            new Outcome.Succeeded(JsonNodeFactory.instance.objectNode().put("chargeId", "c-1")));
  }

  @Test
  void anEmptySuccessHasNoOutputAndTextNotDeclaredJsonIsKeptAsText() {
    assertThat(answer(204, "No Content", "", false))
        .isEqualTo(new Outcome.Succeeded(NullNode.getInstance()));
    assertThat(answer(200, "OK", "done", false))
        .isEqualTo(new Outcome.Succeeded(TextNode.valueOf("done")));
  }

  @Test
  void aSuccessDeclaredJsonThatIsNotJsonIsUnreadable() {
    assertThat(answer(200, "OK", "{\"chargeId\":", true))
        .isInstanceOfSatisfying(
            Outcome.Unreadable.class,
            u -> {
              assertThat(u.call()).isEqualTo(CALL);
              assertThat(u.problem()).startsWith("answered 200 but its body could not be read");
            });
    assertThat(answer(200, "OK", "{} trailing", true)).isInstanceOf(Outcome.Unreadable.class);
  }

  @ParameterizedTest
  @ValueSource(ints = {408, 425, 429, 500, 503, 599})
  void overloadAndServerErrorsAreRetriedWithTheWaitAskedFor(int status) {
    assertThat(answer(status, "", "busy", false))
        .isEqualTo(
            new Outcome.Retryable(
                CALL + " answered " + status + ": busy", Optional.of(Duration.ofSeconds(7))));
  }

  @ParameterizedTest
  @ValueSource(ints = {301, 400, 404, 409, 422})
  void otherStatusesAreRejections(int status) {
    assertThat(answer(status, "Nope", "", false))
        .isEqualTo(new Outcome.Permanent(CALL + " answered " + status + " Nope"));
  }

  @Test
  void aLongErrorBodyIsCutToAnExcerptOnOneLine() {
    var outcome =
        (Outcome.Permanent) answer(422, "Unprocessable Entity", "a\nb " + "x".repeat(300), false);
    assertThat(outcome.error())
        .startsWith(CALL + " answered 422 Unprocessable Entity: a b xxx")
        .endsWith("…")
        .hasSize((CALL + " answered 422 Unprocessable Entity: ").length() + 201);
  }
}
