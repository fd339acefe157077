package io.sagaflow.chaos.check;

import io.sagaflow.chaos.format.ApiCall;
import java.util.ArrayList;
import java.util.Map;

/** C2: no saga whose start was acknowledged is missing from the journal. */
final class JournalPresenceCheck {
  static final String ID = "C2";

  private JournalPresenceCheck() {}

  static CheckResult check(Run run) {
    var violations = new ArrayList<Violation>();
    for (Map.Entry<String, ApiCall> e : run.acknowledged().entrySet()) {
      if (!run.data.journal().containsKey(e.getKey())) {
        ApiCall ack = e.getValue();
        violations.add(
            new Violation(
                ID,
                e.getKey(),
                "start acknowledged ("
                    + ack.http()
                    + ") by "
                    + ack.node()
                    + " at "
                    + ack.t()
                    + ", not in the journal"));
      }
    }
    return new CheckResult(
        ID,
        "no acknowledged saga is missing from the journal",
        run.acknowledged().size(),
        "sagas",
        violations);
  }
}
