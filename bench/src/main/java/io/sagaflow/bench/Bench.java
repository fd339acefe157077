package io.sagaflow.bench;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import io.sagaflow.orchestrator.SagaEntity;
import java.io.PrintStream;
import java.time.LocalTime;
import java.time.format.DateTimeFormatter;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code sagaflow-bench.jar bench}: measures a node's throughput, latency and work per saga, and
 * checks that every saga of the run did what it should. See {@link BenchOptions#USAGE}; figures and
 * how to read them are in BENCHMARKS.md.
 */
public final class Bench {

  private Bench() {}

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /**
   * Runs the command; returns the exit code: 0 when every saga was verified, 1 when one was not or
   * the run failed, 2 when the options are wrong.
   */
  public static int run(String[] args) {
    return run(args, System.out, System.err);
  }

  static int run(String[] args, PrintStream out, PrintStream err) {
    BenchOptions options;
    try {
      options = BenchOptions.parse(args);
    } catch (BenchOptions.UsageException e) {
      err.println("bench: " + e.getMessage());
      err.println();
      err.print(BenchOptions.USAGE);
      return 2;
    }
    if (options.help()) {
      out.print(BenchOptions.USAGE);
      return 0;
    }
    if (!options.verbose()) {
      quietLogs();
    }
    BenchResult result;
    try {
      result = BenchRunner.run(options, System.getenv(), progressTo(err, "bench"));
    } catch (RuntimeException e) {
      err.println("bench: the run failed: " + e.getMessage());
      e.printStackTrace(err);
      return 1;
    }
    out.println();
    out.print(result.toTable());
    if (options.json()) {
      out.println(result.toJson());
    }
    out.flush();
    if (!result.verified()) {
      err.println(
          "bench: FAILED: "
              + result.problems().size()
              + " problem(s), the figures above are not valid:");
      result.problems().forEach(p -> err.println("  - " + p));
      return 1;
    }
    return 0;
  }

  /**
   * Progress lines of a bench command on {@code err}, each with the time and the command's name.
   */
  static Consumer<String> progressTo(PrintStream err, String command) {
    DateTimeFormatter time = DateTimeFormatter.ofPattern("HH:mm:ss");
    return line -> err.println(LocalTime.now().format(time) + " " + command + ": " + line);
  }

  /**
   * The node logs at INFO; during a benchmark only warnings matter, and the per-saga warning of a
   * rejected step (--fail-at) would print thousands of lines: it is raised to ERROR.
   */
  static void quietLogs() {
    if (LoggerFactory.getILoggerFactory() instanceof LoggerContext context) {
      context.getLogger(Logger.ROOT_LOGGER_NAME).setLevel(Level.WARN);
      context.getLogger("io.sagaflow").setLevel(Level.WARN);
      context.getLogger("org.apache.pekko").setLevel(Level.WARN);
      context.getLogger(SagaEntity.class.getName()).setLevel(Level.ERROR);
    }
  }
}
