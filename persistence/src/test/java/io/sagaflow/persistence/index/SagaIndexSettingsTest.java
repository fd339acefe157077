package io.sagaflow.persistence.index;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.JournalConfig;
import java.time.Duration;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.junit.jupiter.api.Test;

class SagaIndexSettingsTest {

  @Test
  void referenceConfHasTheDefaults() {
    SagaIndexSettings settings = SagaIndexSettings.fromConfig(ConfigFactory.load());

    assertThat(settings)
        .isEqualTo(
            new SagaIndexSettings(
                4, 4, Duration.ofSeconds(5), 30, true, 500, Duration.ofMillis(50)));
  }

  @Test
  void journalConfigCarriesTheProjectionSettingsToTheRoot() {
    var config =
        JournalConfig.forDatabase(new DatabaseSettings("jdbc:postgresql://db/x", "u", "p"))
            .withFallback(ConfigFactory.load());

    assertThat(config.getString("pekko.projection.jdbc.dialect")).isEqualTo("postgres-dialect");
    assertThat(
            config.getInt(
                "pekko.projection.jdbc.blocking-jdbc-dispatcher.thread-pool-executor.fixed-pool-size"))
        .isEqualTo(4);
    assertThat(config.getDuration("jdbc-read-journal.refresh-interval"))
        .isEqualTo(Duration.ofMillis(200));
    // A missing ordering is skipped after max-tries * query-delay: keep the plugin's 10 s.
    assertThat(
            config
                .getDuration("jdbc-read-journal.journal-sequence-retrieval.query-delay")
                .multipliedBy(
                    config.getInt("jdbc-read-journal.journal-sequence-retrieval.max-tries")))
        .isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void rejectsEmptyPoolsAndTimeoutsHikariRefuses() {
    assertThatThrownBy(
            () ->
                new SagaIndexSettings(
                    0, 4, Duration.ofSeconds(5), 30, true, 500, Duration.ofMillis(50)))
        .hasMessageContaining("projection-connections");
    assertThatThrownBy(
            () ->
                new SagaIndexSettings(
                    4, 0, Duration.ofSeconds(5), 30, true, 500, Duration.ofMillis(50)))
        .hasMessageContaining("read-connections");
    assertThatThrownBy(
            () ->
                new SagaIndexSettings(
                    4, 4, Duration.ofMillis(100), 30, true, 500, Duration.ofMillis(50)))
        .hasMessageContaining("connection-timeout");
    assertThatThrownBy(
            () ->
                new SagaIndexSettings(
                    4, 4, Duration.ofSeconds(5), -1, true, 500, Duration.ofMillis(50)))
        .hasMessageContaining("sagaflow.db.socket-timeout");
    assertThatThrownBy(
            () ->
                new SagaIndexSettings(
                    4, 4, Duration.ofSeconds(5), 30, true, 0, Duration.ofMillis(50)))
        .hasMessageContaining("group-max-events");
    assertThatThrownBy(
            () -> new SagaIndexSettings(4, 4, Duration.ofSeconds(5), 30, true, 500, Duration.ZERO))
        .hasMessageContaining("group-max-delay");
  }

  @Test
  void offsetTableIsNamedAsTheDialectNamesIt() {
    assertThat(SagaIndexProjection.offsetTable(ConfigFactory.load()))
        .isEqualTo("\"pekko_projection_offset_store\"");
    assertThat(
            SagaIndexProjection.offsetTable(
                ConfigFactory.parseString(
                        "pekko.projection.jdbc.offset-store { schema = Index, table = Offsets }")
                    .withFallback(ConfigFactory.load())))
        .isEqualTo("\"index\".\"offsets\"");
  }

  @Test
  void projectionRefusesAConfigurationWithoutThePostgresDialect() {
    ActorTestKit kit = ActorTestKit.create("index-no-dialect", ConfigFactory.load());
    try {
      assertThatThrownBy(
              () ->
                  SagaIndexProjection.init(
                      kit.system(), new DatabaseSettings("jdbc:postgresql://db/x", "u", "p")))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("JournalConfig.forDatabase");
    } finally {
      kit.shutdownTestKit();
    }
  }
}
