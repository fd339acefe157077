package io.sagaflow.chaos;

import io.sagaflow.chaos.run.ChaosRunner;
import io.sagaflow.chaos.run.RunOptions;
import java.nio.file.Files;

/**
 * {@code Main run [--profile short|long] [--seed S] [--sagas N] [--dir D] ...}: one seeded chaos
 * run (see RELIABILITY.md and {@link RunOptions#USAGE}). Exits with 0 when the run completed and
 * the checker found no violation, 1 otherwise, 2 on bad options.
 */
public final class ChaosRun {
  private ChaosRun() {}

  public static void main(String[] args) throws Exception {
    RunOptions options;
    try {
      options = RunOptions.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    Files.createDirectories(options.dir());
    // Before anything logs: the runner's libraries log to <run-dir>/runner.log.
    System.setProperty("chaos.run.dir", options.dir().toAbsolutePath().toString());
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "chaos-run-logback.xml");
    }
    System.exit(ChaosRunner.run(options, System.out));
  }
}
