package io.sagaflow.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DatabaseSettingsTest {

  private static final Config CONFIGURED =
      ConfigFactory.parseMap(
              Map.of(
                  "sagaflow.db.url", "jdbc:postgresql://config-host/sagaflow",
                  "sagaflow.db.user", "config-user",
                  "sagaflow.db.password", "config-secret"))
          .withFallback(ConfigFactory.defaultReference());

  @Test
  void environmentWinsOverConfiguration() {
    DatabaseSettings settings =
        DatabaseSettings.fromEnvironment(
            Map.of(
                "SAGAFLOW_DB_URL", "jdbc:postgresql://env-host/sagaflow",
                "SAGAFLOW_DB_USER", "env-user",
                "SAGAFLOW_DB_PASSWORD", "env-secret"),
            CONFIGURED);

    assertThat(settings)
        .isEqualTo(
            new DatabaseSettings("jdbc:postgresql://env-host/sagaflow", "env-user", "env-secret"));
    assertThat(settings.isEmbedded()).isFalse();
  }

  @Test
  void eachVariableOverridesOnlyItsOwnKeyAndEmptyVariablesCountAsUnset() {
    DatabaseSettings settings =
        DatabaseSettings.fromEnvironment(
            Map.of("SAGAFLOW_DB_PASSWORD", "env-secret", "SAGAFLOW_DB_USER", ""), CONFIGURED);

    assertThat(settings)
        .isEqualTo(
            new DatabaseSettings(
                "jdbc:postgresql://config-host/sagaflow", "config-user", "env-secret"));
  }

  @Test
  void noUrlAnywhereMeansEmbedded() {
    DatabaseSettings settings =
        DatabaseSettings.fromEnvironment(Map.of(), ConfigFactory.defaultReference());

    assertThat(settings.isEmbedded()).isTrue();
    assertThat(settings.toString()).isEqualTo("DatabaseSettings[embedded]");
  }

  @Test
  void toStringHidesThePasswordAlsoWhenItIsAUrlParameter() {
    DatabaseSettings settings =
        new DatabaseSettings(
            "jdbc:postgresql://db/sagaflow?ssl=true&password=url-secret&x=1", "app", "s3cret!");

    assertThat(settings.toString())
        .doesNotContain("s3cret!")
        .doesNotContain("url-secret")
        .contains("user=app")
        .contains("jdbc:postgresql://db/sagaflow?ssl=true&password=****&x=1");
    assertThat(new DatabaseSettings("jdbc:postgresql://db/x", "app", "").toString())
        .contains("password=(empty)");
  }

  @Test
  void embeddedDefaultsKeepTheClusterUnderDataPostgres() {
    EmbeddedDatabase.Settings embedded =
        EmbeddedDatabase.Settings.fromConfig(ConfigFactory.defaultReference());

    assertThat(embedded.dataDirectory()).isEqualTo(Path.of("./data/postgres"));
    assertThat(embedded.port()).isZero();
    assertThat(embedded.durable()).isTrue();
  }
}
