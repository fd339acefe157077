package io.sagaflow.chaos.check;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How the checker reads duplicate keys in node logs (C5). */
class DuplicateKeyLinesTest {
  @TempDir Path dir;

  /** As logback prints a failed journal write: the driver names the key on a line of its own. */
  @Test
  void aDuplicateKeyLineTakesTheErrorFieldsOnTheLinesAfterIt() throws Exception {
    Files.writeString(
        dir.resolve("node1.log"),
        """
        01:00:26.068 ERROR [] i.s.o.SagaEntity - Supervisor saw failure [1]: Failed to persist
        \tat org.apache.pekko.actor.ActorCell.invoke(ActorCell.scala:557)
        Caused by: org.postgresql.util.PSQLException: ERROR: duplicate key value violates \
        unique constraint "event_journal_pkey"
          Detail: Key (persistence_id, sequence_number)=(saga|s-1, 2) already exists.
        \tat org.postgresql.core.v3.QueryExecutorImpl.receiveErrorResponse(QueryExecutorImpl.java)
          Detail: not a continuation: a stack frame came between
        duplicate key at the end of the file
        """);
    assertThat(RunData.duplicateKeyLines(dir))
        .containsExactly(
            new RunData.LogLine(
                "node1.log",
                3,
                "Caused by: org.postgresql.util.PSQLException: ERROR: duplicate key value violates"
                    + " unique constraint \"event_journal_pkey\" Detail: Key (persistence_id,"
                    + " sequence_number)=(saga|s-1, 2) already exists."),
            new RunData.LogLine("node1.log", 7, "duplicate key at the end of the file"));
  }

  @Test
  void c5CountsAJournalKeyOrAnUnnamedKeyButNotAnotherTables() {
    var lines =
        List.of(
            new RunData.LogLine(
                "node1.log",
                1,
                "ERROR: duplicate key value violates unique constraint \"event_journal_pkey\""
                    + " Detail: Key (persistence_id, sequence_number)=(saga|s-1, 2) already"
                    + " exists."),
            new RunData.LogLine(
                "node1.log",
                2,
                "ERROR: duplicate key value violates unique constraint"
                    + " \"pekko_projection_offset_store_pkey\" Detail: Key (projection_name,"
                    + " projection_key)=(saga-index, saga-index-3) already exists."),
            new RunData.LogLine("node2.log", 3, "journal write failed: duplicate key"));
    var data = new RunData(List.of(), List.of(), List.of(), lines, Map.of());
    CheckResult c5 = SingleWriterCheck.check(new Run(data));
    assertThat(c5.violations())
        .extracting(Violation::message)
        .containsExactly(
            "node1.log:1 duplicate key: " + lines.get(0).text(),
            "node2.log:3 duplicate key: journal write failed: duplicate key");
    assertThat(c5.violations()).extracting(Violation::sagaId).containsExactly("s-1", null);
  }
}
