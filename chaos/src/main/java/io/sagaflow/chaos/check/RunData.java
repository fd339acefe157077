package io.sagaflow.chaos.check;

import io.sagaflow.chaos.format.ApiCall;
import io.sagaflow.chaos.format.FaultEvent;
import io.sagaflow.chaos.format.Jsonl;
import io.sagaflow.chaos.format.LedgerEntry;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * Everything a run left behind, as read: the API history, the participant's ledger, the faults, the
 * node log lines that report a duplicate journal key, and the journal's rows by saga.
 */
public record RunData(
    List<ApiCall> history,
    List<LedgerEntry> ledger,
    List<FaultEvent> faults,
    List<LogLine> duplicateKeyLines,
    Map<String, List<JournalRow>> journal) {

  /** A line of a node's log. */
  public record LogLine(String file, int lineNumber, String text) {}

  public static RunData load(CheckInputs inputs) {
    Path dir = inputs.runDir();
    return new RunData(
        Jsonl.read(dir.resolve(CheckInputs.HISTORY), ApiCall.class),
        Jsonl.read(dir.resolve(CheckInputs.LEDGER), LedgerEntry.class),
        Jsonl.read(dir.resolve(CheckInputs.FAULTS), FaultEvent.class),
        duplicateKeyLines(dir),
        JournalReader.read(inputs.dbUrl(), inputs.dbUser(), inputs.dbPassword()));
  }

  /**
   * A line that continues the message of the line before: PostgreSQL's driver puts the fields of a
   * server error on lines of their own, indented two spaces ({@code Detail: Key (persistence_id,
   * sequence_number)=(saga|..., 2) already exists.}); stack frames are indented with a tab.
   */
  private static final Pattern CONTINUATION = Pattern.compile("^ {2}[A-Z][A-Za-z ]*: .*");

  /**
   * Lines of {@code node*.log} that mention a duplicate key: two writers of one saga's journal. A
   * line's text includes the error fields that continue it on the next lines (where the driver
   * names the key, and so the saga).
   */
  static List<LogLine> duplicateKeyLines(Path dir) {
    var found = new ArrayList<LogLine>();
    if (!Files.isDirectory(dir)) {
      return found;
    }
    try (DirectoryStream<Path> logs = Files.newDirectoryStream(dir, "node*.log")) {
      for (Path log : logs) {
        // Latin-1 reads any byte: a log cut short by kill -9 must not stop the check.
        try (BufferedReader in = Files.newBufferedReader(log, StandardCharsets.ISO_8859_1)) {
          String file = log.getFileName().toString();
          String line;
          int number = 0;
          LogLine open = null;
          while ((line = in.readLine()) != null) {
            number++;
            if (open != null && CONTINUATION.matcher(line).matches()) {
              open = new LogLine(file, open.lineNumber(), open.text() + " " + line.strip());
              continue;
            }
            if (open != null) {
              found.add(open);
              open = null;
            }
            if (line.toLowerCase(Locale.ROOT).contains("duplicate key")) {
              open = new LogLine(file, number, line);
            }
          }
          if (open != null) {
            found.add(open);
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("could not read the node logs in " + dir, e);
    }
    return found;
  }
}
