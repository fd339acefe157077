package io.sagaflow.chaos.check;

import java.util.List;

/**
 * The outcome of one check.
 *
 * @param check its id, {@code C1}..{@code C7}
 * @param title what it asserts
 * @param examined how many sagas (or keys, or nodes: see {@code unit}) it looked at
 * @param unit what {@code examined} counts
 * @param violations what it found broken
 */
public record CheckResult(
    String check, String title, long examined, String unit, List<Violation> violations) {
  public CheckResult {
    violations = List.copyOf(violations);
  }

  public boolean ok() {
    return violations.isEmpty();
  }
}
