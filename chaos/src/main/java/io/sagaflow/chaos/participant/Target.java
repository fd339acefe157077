package io.sagaflow.chaos.participant;

import io.sagaflow.chaos.ChaosSaga;
import io.sagaflow.chaos.format.LedgerEntry.Call;
import java.util.Optional;

/**
 * What one participant request is about, read from its path ({@code /{participant}/{step}}, undo
 * {@code /{participant}/{step}/undo}) and its {@code Idempotency-Key} ({@code {sagaId}/{step}}, or
 * {@code {sagaId}/{step}/compensation}), with the {@code Saga-Attempt} it came with (null when
 * absent or not a number).
 */
record Target(
    String participant, String step, Call call, String sagaId, String key, Integer attempt) {

  private static final String COMPENSATION_SUFFIX = "/compensation";

  /** The step's identity across its forward call and its compensation. */
  String stepKey() {
    return sagaId + "/" + step;
  }

  /** The target of a call to {@code path} with {@code key}; empty when it is not a chaos call. */
  static Optional<Target> of(String path, String key, String attempt) {
    String[] parts = path.split("/");
    // "/alpha/reserve" splits into "", "alpha", "reserve" (and "undo").
    if (key == null || parts.length < 3 || parts.length > 4 || !parts[0].isEmpty()) {
      return Optional.empty();
    }
    boolean undo = parts.length == 4;
    if (undo && !parts[3].equals("undo")) {
      return Optional.empty();
    }
    String participant = parts[1];
    String step = parts[2];
    if (ChaosSaga.STEPS.stream()
        .noneMatch(s -> s.name().equals(step) && s.participant().equals(participant))) {
      return Optional.empty();
    }
    String suffix = "/" + step + (undo ? COMPENSATION_SUFFIX : "");
    if (!key.endsWith(suffix) || key.length() == suffix.length()) {
      return Optional.empty();
    }
    String sagaId = key.substring(0, key.length() - suffix.length());
    return Optional.of(
        new Target(
            participant,
            step,
            undo ? Call.COMPENSATION : Call.FORWARD,
            sagaId,
            key,
            attemptNumber(attempt)));
  }

  private static Integer attemptNumber(String header) {
    try {
      return header == null ? null : Integer.valueOf(header.trim());
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
