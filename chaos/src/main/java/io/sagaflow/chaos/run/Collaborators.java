package io.sagaflow.chaos.run;

import io.sagaflow.chaos.check.CheckInputs;
import io.sagaflow.chaos.check.CheckReport;
import io.sagaflow.chaos.check.Checker;
import io.sagaflow.persistence.DatabaseSettings;
import java.nio.file.Path;
import java.util.List;

/**
 * The runner's two calls into the rest of the module: the fault-injecting participant's main
 * ({@code ChaosParticipant}) and the checker ({@link Checker}).
 */
final class Collaborators {
  private Collaborators() {}

  /**
   * What follows {@code java -cp <jar>} to run the participant; it takes {@code --port 0 --seed S
   * --ledger FILE [--mix SPEC]} and prints {@code chaos participant listening on port N}.
   */
  static List<String> participantMain() {
    return List.of("io.sagaflow.chaos.Main", "participant");
  }

  /** The checker's verdict on a finished run. */
  record Verdict(boolean ok, String rendered, boolean stub) {}

  /** Runs the checker on the run directory and the journal in {@code db}. */
  static Verdict check(Path runDir, DatabaseSettings db) {
    CheckReport report = Checker.check(new CheckInputs(runDir, db.url(), db.user(), db.password()));
    return new Verdict(report.ok(), report.render(), false);
  }
}
