package io.sagaflow.chaos.run;

import io.sagaflow.persistence.DatabaseSettings;
import java.nio.file.Path;
import java.util.List;

/**
 * The runner's two calls into code written beside it, in one place so that they are easy to wire:
 * the fault-injecting participant's main class and the checker. Both are STUBS until {@code
 * ChaosParticipant} and {@code io.sagaflow.chaos.check.Checker} land; then {@link
 * #participantMain()} becomes {@code List.of("io.sagaflow.chaos.Main", "participant")} and {@link
 * #check} calls {@code Checker.check(new CheckInputs(runDir, db.url(), db.user(), db.password()))},
 * returning its {@code ok()} and {@code render()}.
 */
final class Collaborators {
  private Collaborators() {}

  /**
   * What follows {@code java -cp <jar>} to run the participant; it takes {@code --port 0 --seed S
   * --ledger FILE [--mix SPEC]} and prints {@code chaos participant listening on port N}.
   */
  static List<String> participantMain() {
    return List.of(StubParticipant.class.getName());
  }

  /** The checker's verdict on a finished run. */
  record Verdict(boolean ok, String rendered, boolean stub) {}

  /** Runs the checker on the run directory and the journal in {@code db}. */
  static Verdict check(Path runDir, DatabaseSettings db) {
    StubChecker.Report report = StubChecker.check(runDir, db);
    return new Verdict(report.ok(), report.render(), true);
  }
}
