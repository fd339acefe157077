package io.sagaflow.sagas;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MainTest {

  private static final List<String> PARTICIPANTS = List.of("inventory", "payments");

  @Test
  void runsTheDemoWhenNoParticipantHasAUrl() {
    assertThat(Main.anyParticipantConfigured(ConfigFactory.load(), Map.of(), PARTICIPANTS))
        .isFalse();
  }

  @Test
  void oneConfigKeyMeansTheParticipantsAreConfigured() {
    var config =
        ConfigFactory.parseMap(Map.of("sagaflow.participants.payments.url", "http://payments:8080"))
            .withFallback(ConfigFactory.load());
    assertThat(Main.anyParticipantConfigured(config, Map.of(), PARTICIPANTS)).isTrue();
  }

  @Test
  void oneEnvironmentVariableMeansTheParticipantsAreConfigured() {
    assertThat(
            Main.anyParticipantConfigured(
                ConfigFactory.load(),
                Map.of("SAGAFLOW_PARTICIPANTS_INVENTORY_URL", "http://inventory:8080"),
                PARTICIPANTS))
        .isTrue();
  }

  @Test
  void aBlankUrlCountsAsUnset() {
    assertThat(
            Main.anyParticipantConfigured(
                ConfigFactory.load(),
                Map.of("SAGAFLOW_PARTICIPANTS_INVENTORY_URL", " "),
                PARTICIPANTS))
        .isFalse();
  }
}
