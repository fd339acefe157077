package io.sagaflow.chaos.check;

import io.sagaflow.chaos.format.ApiCall;
import io.sagaflow.chaos.format.LedgerEntry;
import io.sagaflow.chaos.format.LedgerEntry.Call;
import io.sagaflow.chaos.format.LedgerEntry.Effect;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * C1: every acknowledged saga (and every saga whose start was unknown but that exists) ends
 * COMPLETED or COMPENSATED per the journal, and a final GET agrees; or FAILED where the mix made it
 * so: a rejected compensation, a rejected step after the pivot, an unreadable answer of the pivot
 * or a step after it, or a call that ran out of attempts against injected failures.
 */
final class TerminalCheck {
  static final String ID = "C1";

  private TerminalCheck() {}

  static CheckResult check(Run run) {
    Set<String> sagas = new LinkedHashSet<>(run.acknowledged().keySet());
    run.unknownStarts().stream().filter(run.data.journal()::containsKey).forEach(sagas::add);
    var violations = new ArrayList<Violation>();
    for (String id : sagas) {
      run.model(id).ifPresent(model -> examine(run, id, model, violations));
    }
    return new CheckResult(
        ID,
        "every acknowledged saga ends COMPLETED or COMPENSATED (or FAILED for a cause of the mix)",
        sagas.size(),
        "sagas",
        violations);
  }

  private static void examine(Run run, String id, SagaModel model, List<Violation> violations) {
    SagaModel.Status status = model.status();
    if (status == SagaModel.Status.FAILED) {
      String cause = justification(run, id, model.failure());
      if (cause == null) {
        violations.add(
            new Violation(
                ID,
                id,
                "FAILED ("
                    + model.failure().event()
                    + ": "
                    + model.failure().reason()
                    + ") with no cause in the ledger"));
      }
    } else if (!status.terminal()) {
      violations.add(new Violation(ID, id, "ended " + status + " in the journal"));
    }
    finalGet(run, id).ifPresent(get -> agree(run, id, status, get, violations));
  }

  private static java.util.Optional<ApiCall> finalGet(Run run, String id) {
    ApiCall last = null;
    for (ApiCall call : run.data.history()) {
      if (call.op() == ApiCall.Op.GET
          && call.phase() == ApiCall.Phase.OK
          && id.equals(call.sagaId())
          && call.sagaStatus() != null) {
        last = call;
      }
    }
    return java.util.Optional.ofNullable(last);
  }

  /**
   * A GET after the saga's last write, or one that saw it ended, must say what the journal does.
   */
  private static void agree(
      Run run, String id, SagaModel.Status status, ApiCall get, List<Violation> violations) {
    List<JournalRow> rows = run.data.journal().get(id);
    long lastWrite = rows.get(rows.size() - 1).writeTimestamp();
    boolean ended = get.sagaStatus().equals("COMPLETED") || get.sagaStatus().equals("COMPENSATED");
    if ((get.t() >= lastWrite || ended) && !get.sagaStatus().equals(status.name())) {
      violations.add(
          new Violation(
              ID,
              id,
              "GET on "
                  + get.node()
                  + " answered "
                  + get.sagaStatus()
                  + ", the journal says "
                  + status));
    }
  }

  /** What in the ledger made the saga FAILED, or null when nothing did. */
  static String justification(Run run, String id, SagaModel.Failure failure) {
    if (failure.step() == null) {
      return null;
    }
    Call call = failure.event().equals("CompensationFailed") ? Call.COMPENSATION : Call.FORWARD;
    List<LedgerEntry> deliveries = run.deliveries(id, failure.step(), call);
    if (!failure.uncertain() && Run.count(deliveries, Effect.REJECTED) > 0) {
      return "rejected";
    }
    if (failure.uncertain() && unreadable(deliveries)) {
      return "unreadable answer";
    }
    boolean outOfAttempts = failure.uncertain() || call == Call.COMPENSATION;
    if (outOfAttempts && deliveries.stream().anyMatch(TerminalCheck::failing)) {
      return "out of attempts";
    }
    return null;
  }

  /** The key's first applied delivery answered a body the engine cannot read. */
  private static boolean unreadable(List<LedgerEntry> deliveries) {
    return deliveries.stream()
        .filter(e -> e.effect() == Effect.APPLIED || e.effect() == Effect.UNDONE)
        .findFirst()
        .map(e -> e.fault().equals("oversized") || e.fault().equals("malformed"))
        .orElse(false);
  }

  private static boolean failing(LedgerEntry e) {
    return e.effect() == Effect.ERROR || e.http() == 0 || e.fault().equals("delayed-after");
  }
}
