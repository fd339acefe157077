package io.sagaflow.chaos;

/** Placeholder: written by its own change. */
public final class ChaosNode {
  private ChaosNode() {}

  public static void main(String[] args) {
    throw new UnsupportedOperationException("ChaosNode is not written yet");
  }
}
