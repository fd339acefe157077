package io.sagaflow.bench;

import java.util.Arrays;

/**
 * {@code java -jar sagaflow-bench.jar}: the benchmark's commands. Each starts its own node (and,
 * for HTTP steps, a participant JVM from this jar); see BENCHMARKS.md.
 */
public final class Main {

  private Main() {}

  static final String USAGE =
      String.join(
          "\n",
          "usage: java -jar sagaflow-bench.jar <command>",
          "  bench ...          throughput, latency and work per saga of one node (bench --help)",
          "  bench-waiting ...  sagas parked on a backoff or a signal: heap and wake-up (--help)");

  public static void main(String[] args) {
    System.exit(run(args));
  }

  static int run(String[] args) {
    if (args.length == 0) {
      System.err.println(USAGE);
      return 2;
    }
    String[] rest = Arrays.copyOfRange(args, 1, args.length);
    return switch (args[0]) {
      case "bench" -> Bench.run(rest);
      case "bench-waiting" -> WaitingBench.run(rest);
      case "help", "--help", "-h" -> {
        System.out.println(USAGE);
        yield 0;
      }
      default -> {
        System.err.println("unknown command '" + args[0] + "'\n" + USAGE);
        yield 2;
      }
    };
  }
}
