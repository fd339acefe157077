package io.sagaflow.chaos.run;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waiting for a condition with a deadline, polling it. */
final class Await {
  private static final long POLL_MILLIS = 50;

  private Await() {}

  /** Polls {@code condition} until it holds (true) or {@code timeout} has passed (false). */
  static boolean condition(BooleanSupplier condition, Duration timeout) {
    return condition(condition, timeout, Duration.ofMillis(POLL_MILLIS));
  }

  static boolean condition(BooleanSupplier condition, Duration timeout, Duration every) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline >= 0) {
        return false;
      }
      if (!pause(every)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Lets {@code length} pass: a fault's planned length (a node down, the database down), never a
   * stand-in for waiting on something. False when interrupted.
   */
  static boolean pause(Duration length) {
    try {
      Thread.sleep(Math.max(0, length.toMillis()));
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
