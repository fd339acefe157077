package io.sagaflow.chaos.check;

import io.sagaflow.chaos.format.ApiCall;
import io.sagaflow.chaos.format.LedgerEntry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** A run's data indexed for the checks: ledger by saga and key, a replayed model per saga. */
final class Run {
  final RunData data;
  private final Map<String, List<LedgerEntry>> ledgerBySaga = new HashMap<>();
  private final Map<String, List<LedgerEntry>> ledgerByKey = new LinkedHashMap<>();
  private final Map<String, SagaModel> models = new HashMap<>();
  private final Map<String, ApiCall> acknowledged = new LinkedHashMap<>();
  private final Set<String> unknownStarts = new LinkedHashSet<>();

  Run(RunData data) {
    this.data = data;
    for (LedgerEntry e : data.ledger()) {
      ledgerBySaga.computeIfAbsent(e.sagaId(), k -> new ArrayList<>()).add(e);
      ledgerByKey.computeIfAbsent(e.key(), k -> new ArrayList<>()).add(e);
    }
    data.journal().forEach((id, rows) -> models.put(id, SagaModel.replay(rows)));
    for (ApiCall call : data.history()) {
      if (call.op() == ApiCall.Op.START && call.sagaId() != null) {
        if (call.phase() == ApiCall.Phase.OK) {
          acknowledged.putIfAbsent(call.sagaId(), call);
        } else if (call.phase() == ApiCall.Phase.UNKNOWN) {
          unknownStarts.add(call.sagaId());
        }
      }
    }
  }

  /** Sagas whose start was acknowledged, with the first call that acknowledged each. */
  Map<String, ApiCall> acknowledged() {
    return acknowledged;
  }

  /** Sagas a start of which got no definite answer (they may or may not exist). */
  Set<String> unknownStarts() {
    return unknownStarts;
  }

  Optional<SagaModel> model(String sagaId) {
    return Optional.ofNullable(models.get(sagaId));
  }

  List<LedgerEntry> ledger(String sagaId) {
    return ledgerBySaga.getOrDefault(sagaId, List.of());
  }

  Map<String, List<LedgerEntry>> ledgerByKey() {
    return ledgerByKey;
  }

  /** The saga's deliveries of one step's forward call or compensation, in ledger order. */
  List<LedgerEntry> deliveries(String sagaId, String step, LedgerEntry.Call call) {
    return ledger(sagaId).stream().filter(e -> e.step().equals(step) && e.call() == call).toList();
  }

  static long count(List<LedgerEntry> entries, LedgerEntry.Effect effect) {
    return entries.stream().filter(e -> e.effect() == effect).count();
  }
}
