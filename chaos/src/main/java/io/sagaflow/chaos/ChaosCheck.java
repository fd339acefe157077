package io.sagaflow.chaos;

import io.sagaflow.chaos.check.CheckInputs;
import io.sagaflow.chaos.check.CheckReport;
import io.sagaflow.chaos.check.Checker;
import java.nio.file.Path;

/**
 * {@code check <run-dir> --db-url <jdbc> [--db-user <user>] [--db-password <password>]}: checks a
 * finished run, prints the report, writes {@code check-report.json} into the run directory and
 * exits 1 on any violation (2 on bad usage).
 */
public final class ChaosCheck {
  private static final String USAGE =
      "usage: check <run-dir> --db-url <jdbc> [--db-user <user>] [--db-password <password>]";

  private ChaosCheck() {}

  public static void main(String[] args) {
    CheckInputs inputs;
    try {
      inputs = parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.err.println(USAGE);
      System.exit(2);
      return;
    }
    CheckReport report = Checker.check(inputs);
    System.out.print(report.render());
    System.out.flush();
    if (!report.ok()) {
      System.exit(1);
    }
  }

  static CheckInputs parse(String[] args) {
    Path dir = null;
    String url = null;
    String user = "postgres";
    String password = "";
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--db-url" -> url = value(args, ++i);
        case "--db-user" -> user = value(args, ++i);
        case "--db-password" -> password = value(args, ++i);
        default -> {
          if (args[i].startsWith("--") || dir != null) {
            throw new IllegalArgumentException("unexpected argument " + args[i]);
          }
          dir = Path.of(args[i]);
        }
      }
    }
    if (dir == null || url == null) {
      throw new IllegalArgumentException("a run directory and --db-url are required");
    }
    return new CheckInputs(dir, url, user, password);
  }

  private static String value(String[] args, int i) {
    if (i >= args.length) {
      throw new IllegalArgumentException(args[i - 1] + " needs a value");
    }
    return args[i];
  }
}
