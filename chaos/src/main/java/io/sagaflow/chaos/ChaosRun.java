package io.sagaflow.chaos;

/** Placeholder: written by its own change. */
public final class ChaosRun {
  private ChaosRun() {}

  public static void main(String[] args) {
    throw new UnsupportedOperationException("ChaosRun is not written yet");
  }
}
