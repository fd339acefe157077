package io.sagaflow.chaos;

/** Placeholder: written by its own change. */
public final class ChaosParticipant {
  private ChaosParticipant() {}

  public static void main(String[] args) {
    throw new UnsupportedOperationException("ChaosParticipant is not written yet");
  }
}
