package io.sagaflow.orchestrator.testing;

import java.time.Duration;
import java.time.Instant;
import java.util.function.Supplier;

/** Waits for a condition with a deadline: the way tests synchronise, instead of sleeping. */
public final class Eventually {
  private Eventually() {}

  /** Polls until {@code value} yields non-null, or fails with {@code what} after the deadline. */
  public static <T> T await(String what, Duration deadline, Supplier<T> value) {
    Instant until = Instant.now().plus(deadline);
    RuntimeException last = null;
    while (true) {
      try {
        T v = value.get();
        if (v != null && !Boolean.FALSE.equals(v)) {
          return v;
        }
      } catch (RuntimeException e) {
        last = e;
      }
      if (Instant.now().isAfter(until)) {
        AssertionError error =
            new AssertionError("timed out after " + deadline + " waiting for " + what);
        if (last != null) {
          error.initCause(last);
        }
        throw error;
      }
      try {
        Thread.sleep(10);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what, e);
      }
    }
  }

  public static void until(String what, Duration deadline, Supplier<Boolean> condition) {
    await(what, deadline, () -> condition.get() ? Boolean.TRUE : null);
  }
}
