package io.sagaflow.persistence;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.Test;

class JournalConfigTest {

  private static final String DB = "pekko-persistence-jdbc.shared-databases.slick.db";

  @Test
  void pointsEveryPluginAtOneSharedPool() {
    Config config =
        JournalConfig.forDatabase(
            new DatabaseSettings("jdbc:postgresql://db:5432/sagaflow", "app", "secret"),
            ConfigFactory.defaultReference());

    assertThat(config.getString("pekko.persistence.journal.plugin")).isEqualTo("jdbc-journal");
    assertThat(config.getString("pekko.persistence.snapshot-store.plugin"))
        .isEqualTo("jdbc-snapshot-store");
    for (String plugin :
        new String[] {
          "jdbc-journal", "jdbc-snapshot-store", "jdbc-read-journal", "jdbc-durable-state-store"
        }) {
      assertThat(config.getString(plugin + ".use-shared-db")).as(plugin).isEqualTo("slick");
    }
    assertThat(config.getString("pekko-persistence-jdbc.shared-databases.slick.profile"))
        .isEqualTo("slick.jdbc.PostgresProfile$");
    assertThat(config.getString(DB + ".url")).isEqualTo("jdbc:postgresql://db:5432/sagaflow");
    assertThat(config.getString(DB + ".user")).isEqualTo("app");
    assertThat(config.getString(DB + ".driver")).isEqualTo("org.postgresql.Driver");
    assertThat(config.getString(DB + ".properties.reWriteBatchedInserts")).isEqualTo("true");
    assertThat(config.getInt(DB + ".numThreads")).isEqualTo(config.getInt(DB + ".maxConnections"));
  }

  @Test
  void keepsAnyPasswordVerbatim() {
    String password = "p\"a ss}${x}\\n#//,=[]";

    Config config =
        JournalConfig.forDatabase(
            new DatabaseSettings("jdbc:postgresql://db/sagaflow", "app", password),
            ConfigFactory.defaultReference());

    assertThat(config.resolve().getString(DB + ".password")).isEqualTo(password);
  }

  @Test
  void staticSettingsCanBeTunedInTheApplicationConfig() {
    Config application =
        ConfigFactory.parseString(
                "sagaflow.persistence.plugin-config.pekko-persistence-jdbc.shared-databases"
                    + ".slick.db.maxConnections = 4")
            .withFallback(ConfigFactory.defaultReference());

    Config config =
        JournalConfig.forDatabase(
            new DatabaseSettings("jdbc:postgresql://db/sagaflow", "app", "secret"), application);

    assertThat(config.getInt(DB + ".maxConnections")).isEqualTo(4);
  }

  @Test
  void everyConnectionGetsTheSocketTimeoutOfSagaflowDb() {
    DatabaseSettings db = new DatabaseSettings("jdbc:postgresql://db/sagaflow", "app", "secret");

    assertThat(
            JournalConfig.forDatabase(db, ConfigFactory.defaultReference())
                .getString(DB + ".properties.socketTimeout"))
        .isEqualTo("30");
    // pgjdbc counts whole seconds: a part of one is rounded up, never down to "no timeout".
    assertThat(
            JournalConfig.forDatabase(db, withSocketTimeout("1500ms"))
                .getString(DB + ".properties.socketTimeout"))
        .isEqualTo("2");
    assertThat(
            JournalConfig.forDatabase(db, withSocketTimeout("0s"))
                .getString(DB + ".properties.socketTimeout"))
        .isEqualTo("0");
    assertThatThrownBy(() -> JournalConfig.forDatabase(db, withSocketTimeout("-1s")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("sagaflow.db.socket-timeout");
  }

  private static Config withSocketTimeout(String timeout) {
    return ConfigFactory.parseString("sagaflow.db.socket-timeout = " + timeout)
        .withFallback(ConfigFactory.defaultReference());
  }

  @Test
  void refusesEmbeddedSettings() {
    assertThatThrownBy(() -> JournalConfig.forDatabase(new DatabaseSettings("", "", "")))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
