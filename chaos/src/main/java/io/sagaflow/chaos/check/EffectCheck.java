package io.sagaflow.chaos.check;

import io.sagaflow.chaos.format.LedgerEntry;
import io.sagaflow.chaos.format.LedgerEntry.Call;
import io.sagaflow.chaos.format.LedgerEntry.Effect;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * C3: at most one applied effect per idempotency key (APPLIED for a forward key, UNDONE for a
 * compensation key), and none for a key that was rejected.
 */
final class EffectCheck {
  static final String ID = "C3";

  private EffectCheck() {}

  static CheckResult check(Run run) {
    var violations = new ArrayList<Violation>();
    for (Map.Entry<String, List<LedgerEntry>> e : run.ledgerByKey().entrySet()) {
      List<LedgerEntry> deliveries = e.getValue();
      LedgerEntry first = deliveries.get(0);
      Effect applied = first.call() == Call.FORWARD ? Effect.APPLIED : Effect.UNDONE;
      long times = Run.count(deliveries, applied);
      if (times > 1) {
        violations.add(
            new Violation(
                ID,
                first.sagaId(),
                "key "
                    + e.getKey()
                    + ": "
                    + applied
                    + " "
                    + times
                    + " times in "
                    + deliveries.size()
                    + " deliveries"));
      }
      if (times > 0 && Run.count(deliveries, Effect.REJECTED) > 0) {
        violations.add(
            new Violation(
                ID, first.sagaId(), "key " + e.getKey() + ": " + applied + " and REJECTED"));
      }
    }
    return new CheckResult(
        ID,
        "at most one applied effect per idempotency key, none for a rejected key",
        run.ledgerByKey().size(),
        "keys",
        violations);
  }
}
