package io.sagaflow.chaos.check;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * C5: never two live incarnations of one saga. No node log reports a duplicate journal key (a
 * duplicate of another table's key, such as a projection's offset, is not one); each saga's
 * sequence numbers run 1, 2, 3... without a gap; and its writer, once it changed, never returns to
 * an earlier one (A A B B is a handover, A A B A two writers interleaving).
 */
final class SingleWriterCheck {
  static final String ID = "C5";
  private static final Pattern SAGA = Pattern.compile("saga\\|([^\\s,'\")\\]]+)");

  /** The columns of the key a duplicate-key error names ({@code Key (a, b)=(...)}). */
  private static final Pattern KEY = Pattern.compile("Key \\(([^)]*)\\)=");

  private SingleWriterCheck() {}

  static CheckResult check(Run run) {
    var violations = new ArrayList<Violation>();
    for (RunData.LogLine line : run.data.duplicateKeyLines()) {
      if (otherTable(line.text())) {
        continue;
      }
      Matcher m = SAGA.matcher(line.text());
      String text =
          line.text().length() > 300 ? line.text().substring(0, 300) + "..." : line.text();
      violations.add(
          new Violation(
              ID,
              m.find() ? m.group(1) : null,
              line.file() + ":" + line.lineNumber() + " duplicate key: " + text.strip()));
    }
    for (Map.Entry<String, List<JournalRow>> e : run.data.journal().entrySet()) {
      rows(e.getKey(), e.getValue(), violations);
    }
    return new CheckResult(
        ID,
        "one live writer per saga: no duplicate key, contiguous sequence numbers, no interleaving",
        run.data.journal().size(),
        "sagas",
        violations);
  }

  /**
   * Whether the duplicate key is another table's, e.g. a projection's offset ({@code Key
   * (projection_name, projection_key)=...}): not a journal row, so not two writers of one saga. A
   * line that names no key at all still counts.
   */
  private static boolean otherTable(String text) {
    Matcher key = KEY.matcher(text);
    return key.find() && !key.group(1).contains("persistence_id");
  }

  private static void rows(String id, List<JournalRow> rows, List<Violation> out) {
    Set<String> earlier = new HashSet<>();
    String writer = null;
    for (int i = 0; i < rows.size(); i++) {
      JournalRow row = rows.get(i);
      if (row.seqNr() != i + 1) {
        out.add(
            new Violation(
                ID, id, "sequence number " + row.seqNr() + " where " + (i + 1) + " was due"));
        return;
      }
      if (writer != null && !writer.equals(row.writer())) {
        earlier.add(writer);
        if (earlier.contains(row.writer())) {
          out.add(
              new Violation(
                  ID,
                  id,
                  "event "
                      + row.seqNr()
                      + " by writer "
                      + row.writer()
                      + " again, after another writer: interleaved"));
          return;
        }
      }
      writer = row.writer();
    }
  }
}
