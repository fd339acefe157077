package io.sagaflow.chaos.check;

import java.util.List;

/**
 * The chaos run's invariant checker: reads what a finished run left (history, ledger, faults, node
 * logs, the journal in PostgreSQL) and checks C1..C7 on it.
 */
public final class Checker {
  private Checker() {}

  /** Checks the run and writes the report as {@code check-report.json} into its directory. */
  public static CheckReport check(CheckInputs inputs) {
    CheckReport report = check(RunData.load(inputs));
    report.write(inputs.runDir().resolve(CheckInputs.REPORT));
    return report;
  }

  /** Checks data already read. */
  public static CheckReport check(RunData data) {
    var run = new Run(data);
    return new CheckReport(
        List.of(
            TerminalCheck.check(run),
            JournalPresenceCheck.check(run),
            EffectCheck.check(run),
            CompensationCheck.check(run),
            SingleWriterCheck.check(run),
            ModelCheck.check(run),
            RecoveryCheck.check(run)));
  }
}
