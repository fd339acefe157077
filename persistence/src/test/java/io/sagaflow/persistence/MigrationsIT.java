package io.sagaflow.persistence;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.orchestrator.history.SagaHistory;
import io.sagaflow.persistence.testing.TestDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class MigrationsIT {

  @Test
  void createsThePluginSchemaOnceAndThenAppliesNothing() throws SQLException {
    EmbeddedDatabase server = TestDatabase.server();
    String database = createEmptyDatabase(server);
    TestDatabase db =
        new TestDatabase(database, server.jdbcUrl(database), server.user(), server.password());

    assertThat(Migrations.migrate(db.jdbcUrl(), db.user(), db.password())).isEqualTo(10);

    assertThat(
            db.count(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
                    + " AND table_name IN ('event_journal', 'event_tag', 'snapshot',"
                    + " 'durable_state', 'sagaflow_node_lease', 'webhook_subscription',"
                    + " 'saga_timer')"))
        .isEqualTo(7);
    assertThat(
            db.count(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname IN"
                    + " ('event_journal_ordering_idx', 'state_tag_idx', 'state_global_offset_idx',"
                    + " 'event_tag_tag_event_id_idx')"))
        .isEqualTo(4);
    assertThat(
            db.scalar(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                    + " WHERE conname = 'fk_event_journal'"))
        .isEqualTo("FOREIGN KEY (event_id) REFERENCES event_journal(ordering) ON DELETE CASCADE");
    assertThat(db.count("SELECT count(*) FROM flyway_schema_history WHERE success")).isEqualTo(10);

    assertThat(Migrations.migrate(db.settings())).isZero();
    assertThat(db.count("SELECT count(*) FROM flyway_schema_history")).isEqualTo(10);
  }

  @Test
  void tablesLandInTheConnectionsSchemaNotInPublic() throws SQLException {
    EmbeddedDatabase server = TestDatabase.server();
    String database = createEmptyDatabase(server);
    String url = server.jdbcUrl(database) + "?currentSchema=tenant_a";

    assertThat(Migrations.migrate(url, server.user(), server.password())).isEqualTo(10);

    TestDatabase db = new TestDatabase(database, url, server.user(), server.password());
    assertThat(
            db.count(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'tenant_a'"
                    + " AND table_name IN ('event_journal', 'event_tag', 'snapshot',"
                    + " 'durable_state', 'flyway_schema_history', 'sagaflow_node_lease',"
                    + " 'saga_timer', 'webhook_subscription')"))
        .isEqualTo(8);
    assertThat(
            db.count(
                "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"))
        .isZero();
  }

  @Test
  void aJournalRowWhoseAdapterManifestNamesATagIsFiledUnderItInTheSameInsert() throws SQLException {
    // The trigger reads what SagaHistory writes: the tag manifests and persistence ids below are
    // the history package's, so a change on either side fails here.
    EmbeddedDatabase server = TestDatabase.server();
    String database = createEmptyDatabase(server);
    TestDatabase db =
        new TestDatabase(database, server.jdbcUrl(database), server.user(), server.password());
    Migrations.migrate(db.settings());

    db.execute(
        "INSERT INTO event_journal (persistence_id, sequence_number, writer, write_timestamp,"
            + " adapter_manifest, event_ser_id, event_ser_manifest, event_payload) VALUES"
            + String.format(
                " ('%1$s', 1, 'w', 0, '%2$s', 33, 'm', '\\x7b7d'),"
                    + " ('%1$s', 2, 'w', 0, '', 33, 'm', '\\x7b7d'),"
                    + " ('%1$s', 3, 'w', 0, 'other', 33, 'm', '\\x7b7d'),"
                    + " ('%1$s', 4, 'w', 0, '%3$s', 33, 'm', '\\x7b7d')",
                SagaHistory.persistenceId("a").id(),
                SagaHistory.tagManifest("saga-index-2"),
                SagaHistory.tagManifest("saga-index-0")));

    assertThat(
            db.scalar(
                "SELECT string_agg(j.sequence_number || '=' || t.tag, ',' ORDER BY t.event_id)"
                    + " FROM event_tag t JOIN event_journal j ON j.ordering = t.event_id"))
        .isEqualTo("1=saga-index-2,4=saga-index-0");
  }

  private static String createEmptyDatabase(EmbeddedDatabase server) throws SQLException {
    String name = "migrations_" + UUID.randomUUID().toString().replace("-", "");
    try (Connection c =
            DriverManager.getConnection(server.jdbcUrl(), server.user(), server.password());
        Statement s = c.createStatement()) {
      s.execute("CREATE DATABASE " + name);
    }
    return name;
  }
}
