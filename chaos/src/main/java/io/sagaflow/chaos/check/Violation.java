package io.sagaflow.chaos.check;

/** One broken invariant: which check, which saga (null when none applies), what is wrong. */
public record Violation(String check, String sagaId, String message) {
  @Override
  public String toString() {
    return check + " " + (sagaId == null ? "-" : sagaId) + ": " + message;
  }
}
