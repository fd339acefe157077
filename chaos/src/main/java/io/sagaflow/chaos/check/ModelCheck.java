package io.sagaflow.chaos.check;

import java.util.ArrayList;

/** C6: every saga's events replay through the checker's own model of the state machine. */
final class ModelCheck {
  static final String ID = "C6";

  private ModelCheck() {}

  static CheckResult check(Run run) {
    var violations = new ArrayList<Violation>();
    for (String id : run.data.journal().keySet()) {
      String illegal = run.model(id).orElseThrow().illegal();
      if (illegal != null) {
        violations.add(new Violation(ID, id, illegal));
      }
    }
    return new CheckResult(
        ID,
        "every saga's events replay through the reference state machine",
        run.data.journal().size(),
        "sagas",
        violations);
  }
}
