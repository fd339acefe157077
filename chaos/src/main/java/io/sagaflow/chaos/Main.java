package io.sagaflow.chaos;

import java.util.Arrays;

/**
 * {@code java -jar chaos/target/sagaflow-chaos.jar <command> ...}: {@code run} (the whole chaos
 * run: see RELIABILITY.md), {@code check <run-dir>} (the checker alone, on a finished run), and the
 * run's own processes, {@code node} and {@code participant}.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws Exception {
    String command = args.length == 0 ? "--help" : args[0];
    String[] rest = Arrays.copyOfRange(args, Math.min(1, args.length), args.length);
    switch (command) {
      case "run" -> ChaosRun.main(rest);
      case "check" -> ChaosCheck.main(rest);
      case "node" -> ChaosNode.main(rest);
      case "participant" -> ChaosParticipant.main(rest);
      default -> {
        System.out.println(
            "usage: java -jar sagaflow-chaos.jar run [options] | check <run-dir> | node | participant");
        if (!command.equals("--help")) {
          System.exit(2);
        }
      }
    }
  }
}
