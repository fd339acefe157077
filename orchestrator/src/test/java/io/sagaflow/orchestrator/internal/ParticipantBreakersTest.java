package io.sagaflow.orchestrator.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.internal.Outcome.Permanent;
import io.sagaflow.orchestrator.internal.Outcome.Retryable;
import io.sagaflow.orchestrator.internal.Outcome.Succeeded;
import io.sagaflow.orchestrator.internal.Outcome.Unreadable;
import io.sagaflow.orchestrator.internal.ParticipantBreakers.Answer;
import io.sagaflow.orchestrator.internal.ParticipantBreakers.Settings;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ParticipantBreakersTest {

  @ParameterizedTest
  @ValueSource(ints = {429, 500, 502, 503, 504, Answer.NO_ANSWER})
  void serverErrorsThrottlingTimeoutsAndConnectionErrorsSayTheParticipantIsUnwell(int status) {
    assertThat(ParticipantBreakers.saysUnwell(Retryable.of("answered " + status), status)).isTrue();
  }

  @ParameterizedTest
  @ValueSource(ints = {408, 425})
  void retryableAnswersAboutOneRequestDoNotCount(int status) {
    assertThat(ParticipantBreakers.saysUnwell(Retryable.of("answered " + status), status))
        .isFalse();
  }

  @Test
  void aCallWithdrawnBeforeItLeftDoesNotCount() {
    assertThat(
            ParticipantBreakers.saysUnwell(
                Retryable.of("not sent: withdrawn: the saga stopped on this node"),
                Answer.WITHDRAWN))
        .isFalse();
  }

  @ParameterizedTest
  @ValueSource(ints = {400, 404, 409, 422})
  void rejectionsNeverCount(int status) {
    assertThat(ParticipantBreakers.saysUnwell(new Permanent("answered " + status), status))
        .isFalse();
  }

  @Test
  void successesAndUnreadable2xxNeverCount() {
    assertThat(
            ParticipantBreakers.saysUnwell(
                new Succeeded(JsonNodeFactory.instance.objectNode()), 200))
        .isFalse();
    assertThat(ParticipantBreakers.saysUnwell(new Unreadable("payments POST /x", "too big"), 200))
        .isFalse();
  }

  @Test
  void defaultsComeFromReferenceConf() {
    Settings settings = Settings.fromConfig(ConfigFactory.load());

    assertThat(settings)
        .isEqualTo(
            new Settings(
                true,
                10,
                Duration.ofMinutes(10),
                Duration.ofSeconds(5),
                Duration.ofSeconds(5),
                2.0,
                0.2));
  }

  @Test
  void aZeroCallTimeoutIsRefusedSincePekkoWouldIgnoreTheFailureDefinition() {
    assertThatThrownBy(
            () ->
                new Settings(
                    true, 10, Duration.ZERO, Duration.ofSeconds(5), Duration.ofSeconds(60), 2, 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("sagaflow.participant-client.circuit-breaker")
        .hasMessageContaining("call-timeout");
  }

  @Test
  void outOfRangeValuesAreRefusedByName() {
    Duration s = Duration.ofSeconds(5);
    assertThatThrownBy(() -> new Settings(true, 0, s, s, s, 2, 0))
        .hasMessageContaining("max-failures");
    assertThatThrownBy(() -> new Settings(true, 3, s, s, Duration.ofSeconds(1), 2, 0))
        .hasMessageContaining("max-reset-timeout");
    assertThatThrownBy(() -> new Settings(true, 3, s, s, s, 0.5, 0))
        .hasMessageContaining("exponential-backoff");
    assertThatThrownBy(() -> new Settings(true, 3, s, s, s, 2, 1.5))
        .hasMessageContaining("random-factor");
  }
}
