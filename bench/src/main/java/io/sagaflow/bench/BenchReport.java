package io.sagaflow.bench;

import java.io.PrintStream;
import java.util.List;
import java.util.function.Supplier;

/** What a bench command prints: a table, one JSON object, and what went wrong. */
interface BenchReport {

  String toTable();

  String toJson();

  /** Empty when every saga of the run was verified. */
  List<String> problems();

  /**
   * Runs a bench command and prints its report: the table on {@code out}, then the JSON when asked
   * for; a failed run or a problem on {@code err}. Returns the exit code: 0 when every saga was
   * verified, 1 otherwise.
   */
  static int print(
      String command,
      Supplier<? extends BenchReport> run,
      boolean json,
      PrintStream out,
      PrintStream err) {
    BenchReport report;
    try {
      report = run.get();
    } catch (RuntimeException e) {
      err.println(command + ": the run failed: " + e.getMessage());
      e.printStackTrace(err);
      return 1;
    }
    out.println();
    out.print(report.toTable());
    if (json) {
      out.println(report.toJson());
    }
    out.flush();
    if (!report.problems().isEmpty()) {
      err.println(
          command
              + ": FAILED: "
              + report.problems().size()
              + " problem(s), the figures above are not valid:");
      report.problems().forEach(p -> err.println("  - " + p));
      return 1;
    }
    return 0;
  }
}
