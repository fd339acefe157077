package io.sagaflow.chaos.check;

import java.nio.file.Path;

/**
 * What the checker reads: a finished run's directory ({@code history.jsonl}, {@code ledger.jsonl},
 * {@code faults.jsonl}, {@code node*.log}) and the run's database, whose {@code event_journal} it
 * reads directly.
 */
public record CheckInputs(Path runDir, String dbUrl, String dbUser, String dbPassword) {
  public static final String HISTORY = "history.jsonl";
  public static final String LEDGER = "ledger.jsonl";
  public static final String FAULTS = "faults.jsonl";
  public static final String REPORT = "check-report.json";

  public CheckInputs {
    if (runDir == null || dbUrl == null) {
      throw new IllegalArgumentException("a run directory and a database url are required");
    }
  }
}
