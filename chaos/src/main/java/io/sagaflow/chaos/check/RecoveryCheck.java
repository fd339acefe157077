package io.sagaflow.chaos.check;

import io.sagaflow.chaos.format.ApiCall;
import io.sagaflow.chaos.format.ApiCall.Op;
import io.sagaflow.chaos.format.ApiCall.Phase;
import io.sagaflow.chaos.format.FaultEvent;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.TreeSet;

/**
 * C7: the cluster recovered. After the last fault ({@code FAULTS_OVER}) every node answered ready,
 * and on each node at least one saga started after that time has ended (COMPLETED, COMPENSATED, or
 * FAILED for a cause of the mix, as C1 allows).
 */
final class RecoveryCheck {
  static final String ID = "C7";

  private RecoveryCheck() {}

  static CheckResult check(Run run) {
    var violations = new ArrayList<Violation>();
    OptionalLong over =
        run.data.faults().stream()
            .filter(f -> f.kind() == FaultEvent.Kind.FAULTS_OVER)
            .mapToLong(FaultEvent::t)
            .max();
    var nodes = new TreeSet<String>();
    run.data.history().stream().map(ApiCall::node).filter(Objects::nonNull).forEach(nodes::add);
    run.data.faults().stream().map(FaultEvent::node).filter(Objects::nonNull).forEach(nodes::add);
    if (over.isEmpty()) {
      violations.add(new Violation(ID, null, "faults.jsonl has no FAULTS_OVER"));
    } else {
      for (String node : nodes) {
        node(run, node, over.getAsLong(), violations);
      }
    }
    return new CheckResult(
        ID,
        "after the last fault every node is ready and ends sagas started on it",
        nodes.size(),
        "nodes",
        violations);
  }

  /**
   * Ended as C1 wants it: COMPLETED or COMPENSATED, or FAILED for a cause of the mix (a saga
   * started after the faults still meets the participants' seeded mix).
   */
  private static boolean ended(Run run, String id, SagaModel model) {
    return model.status().terminal()
        || (model.status() == SagaModel.Status.FAILED
            && TerminalCheck.justification(run, id, model.failure()) != null);
  }

  private static void node(Run run, String node, long over, List<Violation> out) {
    List<ApiCall> calls =
        run.data.history().stream().filter(c -> node.equals(c.node()) && c.t() >= over).toList();
    if (calls.stream().noneMatch(c -> c.op() == Op.READY && c.phase() == Phase.OK)) {
      out.add(new Violation(ID, null, node + " never answered ready after the last fault"));
    }
    List<String> started =
        calls.stream()
            .filter(c -> c.op() == Op.START && c.phase() == Phase.OK)
            .map(ApiCall::sagaId)
            .distinct()
            .toList();
    boolean oneEnded =
        started.stream().anyMatch(id -> run.model(id).map(m -> ended(run, id, m)).orElse(false));
    if (!oneEnded) {
      out.add(
          new Violation(
              ID,
              null,
              node
                  + ": none of the "
                  + started.size()
                  + " sagas started after the last fault ended"));
    }
  }
}
