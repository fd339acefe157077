package io.sagaflow.orchestrator.fence;

/** A write or call refused because this node may not act on its sagas now ({@link NodeFence}). */
public final class FencedException extends RuntimeException {
  public FencedException(String message) {
    super(message);
  }
}
