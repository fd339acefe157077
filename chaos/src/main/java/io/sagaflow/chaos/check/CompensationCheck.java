package io.sagaflow.chaos.check;

import io.sagaflow.chaos.ChaosSaga;
import io.sagaflow.chaos.ChaosSaga.StepSpec;
import io.sagaflow.chaos.format.LedgerEntry;
import io.sagaflow.chaos.format.LedgerEntry.Call;
import io.sagaflow.chaos.format.LedgerEntry.Effect;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * C4: a COMPENSATED saga undid, exactly once, each step the ledger shows applied; delivered a
 * compensation for each step the journal left uncertain; compensated no rejected step and no step
 * the journal never listed; compensated newest step first; and got no forward call of a step after
 * that step's first compensation. A COMPLETED saga applied every step once and compensated none.
 */
final class CompensationCheck {
  static final String ID = "C4";

  private CompensationCheck() {}

  static CheckResult check(Run run) {
    var violations = new ArrayList<Violation>();
    long examined = 0;
    for (String id : run.data.journal().keySet()) {
      SagaModel model = run.model(id).orElseThrow();
      if (model.status() == SagaModel.Status.COMPENSATED) {
        examined++;
        compensated(run, id, model, violations);
      } else if (model.status() == SagaModel.Status.COMPLETED) {
        examined++;
        completed(run, id, violations);
      }
    }
    return new CheckResult(
        ID,
        "compensations undo exactly what was applied, newest first; completed sagas applied once",
        examined,
        "ended sagas",
        violations);
  }

  private static void compensated(Run run, String id, SagaModel model, List<Violation> out) {
    for (StepSpec spec : ChaosSaga.STEPS) {
      String step = spec.name();
      List<LedgerEntry> forward = run.deliveries(id, step, Call.FORWARD);
      List<LedgerEntry> undo = run.deliveries(id, step, Call.COMPENSATION);
      long applied = Run.count(forward, Effect.APPLIED);
      long undone = Run.count(undo, Effect.UNDONE);
      if (!spec.compensatable()) {
        if (applied > 0) {
          out.add(violation(id, step + " has no compensation but was applied " + applied + "x"));
        }
        continue;
      }
      if (applied > 0 && undone != 1) {
        out.add(violation(id, step + " applied " + applied + "x, undone " + undone + "x"));
      }
      boolean reached =
          undo.stream().anyMatch(e -> e.effect() == Effect.UNDONE || e.effect() == Effect.NOOP);
      if (model.uncertain().contains(step) && !reached) {
        out.add(violation(id, step + " was uncertain, yet no compensation of it was applied"));
      }
      if (!undo.isEmpty() && Run.count(forward, Effect.REJECTED) > 0) {
        out.add(violation(id, step + " was rejected, yet compensated"));
      }
      if (!undo.isEmpty() && !model.compensationsDue().contains(step)) {
        out.add(violation(id, step + " was compensated, but the journal never listed it"));
      }
      firstReceived(undo)
          .ifPresent(
              first ->
                  forward.stream()
                      .filter(e -> e.received() > first)
                      .forEach(
                          e ->
                              out.add(
                                  violation(
                                      id,
                                      step
                                          + " forward delivery "
                                          + e.delivery()
                                          + " ("
                                          + e.effect()
                                          + (e.attempt() == null ? "" : ", attempt " + e.attempt())
                                          + ") arrived after its compensation"))));
    }
    order(run, id, out);
  }

  /** The first compensation of each step, by arrival, must come in reverse definition order. */
  private static void order(Run run, String id, List<Violation> out) {
    var firsts = new ArrayList<Map.Entry<Integer, Long>>();
    for (int i = 0; i < ChaosSaga.STEPS.size(); i++) {
      int index = i;
      firstReceived(run.deliveries(id, ChaosSaga.STEPS.get(i).name(), Call.COMPENSATION))
          .ifPresent(t -> firsts.add(Map.entry(index, t)));
    }
    firsts.sort(Map.Entry.comparingByValue());
    for (int i = 1; i < firsts.size(); i++) {
      if (firsts.get(i).getKey() > firsts.get(i - 1).getKey()) {
        out.add(
            violation(
                id,
                "compensated "
                    + ChaosSaga.STEPS.get(firsts.get(i - 1).getKey()).name()
                    + " before "
                    + ChaosSaga.STEPS.get(firsts.get(i).getKey()).name()
                    + ": not newest first"));
      }
    }
  }

  private static void completed(Run run, String id, List<Violation> out) {
    for (StepSpec spec : ChaosSaga.STEPS) {
      long applied = Run.count(run.deliveries(id, spec.name(), Call.FORWARD), Effect.APPLIED);
      if (applied != 1) {
        out.add(violation(id, "COMPLETED, but " + spec.name() + " was applied " + applied + "x"));
      }
      if (!run.deliveries(id, spec.name(), Call.COMPENSATION).isEmpty()) {
        out.add(violation(id, "COMPLETED, but " + spec.name() + " got a compensation"));
      }
    }
  }

  private static java.util.Optional<Long> firstReceived(List<LedgerEntry> entries) {
    return entries.stream().map(LedgerEntry::received).min(Comparator.naturalOrder());
  }

  private static Violation violation(String id, String message) {
    return new Violation(ID, id, message);
  }
}
