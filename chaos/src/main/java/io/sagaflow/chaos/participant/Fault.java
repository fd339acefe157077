package io.sagaflow.chaos.participant;

/** A fault the seeded mix can choose for one delivery; {@link #label()} is its ledger name. */
public enum Fault {
  NONE("none"),
  /** 503 before anything is applied. */
  ERROR_BEFORE("error-before"),
  /** Applied, then the connection is closed without an answer. */
  LOST_AFTER("lost-after"),
  /** Applied, then the answer is held past the step timeout. */
  DELAYED_AFTER("delayed-after"),
  /** Handled twice, as if delivered twice; the second handling answers. */
  DUPLICATE("duplicate"),
  /** Held 100-800 ms, then handled normally. */
  SLOW("slow"),
  /** A permanent 422 for every delivery of the key: nothing is ever applied. */
  REJECT("reject"),
  /** Applied, then 200 with a JSON body over the engine's 1 MiB cap. */
  OVERSIZED("oversized"),
  /** Applied, then 200 with a body that is not JSON. */
  MALFORMED("malformed");

  private final String label;

  Fault(String label) {
    this.label = label;
  }

  public String label() {
    return label;
  }

  public static Fault labelled(String label) {
    for (Fault f : values()) {
      if (f.label.equals(label)) {
        return f;
      }
    }
    throw new IllegalArgumentException("no fault '" + label + "'");
  }
}
