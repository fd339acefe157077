package io.sagaflow.chaos;

/** Placeholder: written by its own change. */
public final class ChaosCheck {
  private ChaosCheck() {}

  public static void main(String[] args) {
    throw new UnsupportedOperationException("ChaosCheck is not written yet");
  }
}
