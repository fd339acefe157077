package io.sagaflow.orchestrator.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.net.URI;
import java.util.Map;
import java.util.Properties;
import org.junit.jupiter.api.Test;

class ParticipantDirectoryTest {

  private static final Config FILE =
      ConfigFactory.parseString(
          """
          sagaflow.participants {
            payments { url = "http://payments.from-file:8080" }
            order-service { url = "http://orders.from-file:8080/api/" }
          }
          """);

  @Test
  void configGivesTheUrlWhenNoVariableIsSet() {
    ParticipantDirectory directory = new ParticipantDirectory(FILE, Map.of());

    assertThat(directory.baseUrl("payments"))
        .contains(URI.create("http://payments.from-file:8080"));
    assertThat(directory.require("order-service"))
        .isEqualTo(URI.create("http://orders.from-file:8080/api/"));
  }

  @Test
  void environmentVariableWinsOverConfig() {
    ParticipantDirectory directory =
        new ParticipantDirectory(
            FILE, Map.of("SAGAFLOW_PARTICIPANTS_ORDER_SERVICE_URL", "https://orders.from-env"));

    assertThat(directory.require("order-service")).isEqualTo(URI.create("https://orders.from-env"));
    assertThat(directory.require("payments"))
        .isEqualTo(URI.create("http://payments.from-file:8080"));
  }

  @Test
  void systemPropertyWinsOverFileButNotOverEnvironment() {
    Properties props = new Properties();
    props.setProperty("sagaflow.participants.payments.url", "http://payments.from-property");
    // How ConfigFactory.load() layers them: system properties over application.conf.
    Config loaded = ConfigFactory.parseProperties(props).withFallback(FILE).resolve();

    assertThat(new ParticipantDirectory(loaded, Map.of()).require("payments"))
        .isEqualTo(URI.create("http://payments.from-property"));
    assertThat(
            new ParticipantDirectory(
                    loaded,
                    Map.of("SAGAFLOW_PARTICIPANTS_PAYMENTS_URL", "http://payments.from-env"))
                .require("payments"))
        .isEqualTo(URI.create("http://payments.from-env"));
  }

  @Test
  void blankVariableCountsAsUnset() {
    ParticipantDirectory directory =
        new ParticipantDirectory(FILE, Map.of("SAGAFLOW_PARTICIPANTS_PAYMENTS_URL", " "));

    assertThat(directory.require("payments"))
        .isEqualTo(URI.create("http://payments.from-file:8080"));
  }

  @Test
  void variableNameIsUpperCasedWithDashesAndDotsAsUnderscores() {
    assertThat(ParticipantDirectory.envVar("payments"))
        .isEqualTo("SAGAFLOW_PARTICIPANTS_PAYMENTS_URL");
    assertThat(ParticipantDirectory.envVar("order-service"))
        .isEqualTo("SAGAFLOW_PARTICIPANTS_ORDER_SERVICE_URL");
    assertThat(ParticipantDirectory.envVar("billing.v2"))
        .isEqualTo("SAGAFLOW_PARTICIPANTS_BILLING_V2_URL");
  }

  @Test
  void unknownParticipantIsEmpty() {
    assertThat(new ParticipantDirectory(FILE, Map.of()).baseUrl("inventory")).isEmpty();
  }

  @Test
  void requireNamesTheVariableAndConfigKeyToSet() {
    ParticipantDirectory directory = new ParticipantDirectory(ConfigFactory.empty(), Map.of());

    assertThatThrownBy(() -> directory.require("order-service"))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("'order-service'")
        .hasMessageContaining("environment variable SAGAFLOW_PARTICIPANTS_ORDER_SERVICE_URL")
        .hasMessageContaining("config key sagaflow.participants.order-service.url");
  }

  @Test
  void configuredUrlMustBeAbsoluteHttp() {
    for (String bad :
        new String[] {"ftp://payments", "payments:8080", "/payments", "http://", "not a url"}) {
      Config config = ConfigFactory.parseMap(Map.of("sagaflow.participants.payments.url", bad));
      assertThatThrownBy(() -> new ParticipantDirectory(config, Map.of()))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("config key sagaflow.participants.payments.url");
    }
  }

  @Test
  void invalidVariableIsReportedByName() {
    assertThatThrownBy(
            () ->
                new ParticipantDirectory(
                    ConfigFactory.empty(),
                    Map.of("SAGAFLOW_PARTICIPANTS_PAYMENTS_URL", "payments")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("environment variable SAGAFLOW_PARTICIPANTS_PAYMENTS_URL")
        .hasMessageContaining("absolute http");
  }

  @Test
  void credentialsInTheUrlAreRejectedWithoutEchoingThem() {
    Config config =
        ConfigFactory.parseMap(
            Map.of("sagaflow.participants.payments.url", "http://user:s3cret@payments"));

    assertThatThrownBy(() -> new ParticipantDirectory(config, Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("user info")
        .hasMessageNotContaining("s3cret");
  }

  @Test
  void participantWithoutUrlKeyIsReported() {
    Config config = ConfigFactory.parseString("sagaflow.participants.payments { uri = \"x\" }");

    assertThatThrownBy(() -> new ParticipantDirectory(config, Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("sagaflow.participants.payments.url");
  }

  @Test
  void joinPutsExactlyOneSlashBetweenBaseAndPath() {
    URI base = URI.create("http://payments:8080");
    URI slashed = URI.create("http://payments:8080/");

    assertThat(ParticipantDirectory.join(base, "/charge"))
        .hasToString("http://payments:8080/charge");
    assertThat(ParticipantDirectory.join(slashed, "/charge"))
        .hasToString("http://payments:8080/charge");
    assertThat(ParticipantDirectory.join(slashed, "charge"))
        .hasToString("http://payments:8080/charge");
    assertThat(ParticipantDirectory.join(base, "charge"))
        .hasToString("http://payments:8080/charge");
    assertThat(ParticipantDirectory.join(slashed, "")).hasToString("http://payments:8080/");
  }

  @Test
  void joinKeepsThePathPrefixOfTheBase() {
    URI base = URI.create("http://gateway/payments-api/");

    assertThat(ParticipantDirectory.join(base, "/charges/c-1?expand=true"))
        .hasToString("http://gateway/payments-api/charges/c-1?expand=true");
  }

  @Test
  void joinRejectsAPathThatIsNotAValidUri() {
    assertThatThrownBy(() -> ParticipantDirectory.join(URI.create("http://p"), "/a b"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
