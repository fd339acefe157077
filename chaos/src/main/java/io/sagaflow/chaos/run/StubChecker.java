package io.sagaflow.chaos.run;

import io.sagaflow.chaos.format.ApiCall;
import io.sagaflow.chaos.format.FaultEvent;
import io.sagaflow.chaos.format.Jsonl;
import io.sagaflow.chaos.format.LedgerEntry;
import io.sagaflow.orchestrator.history.SagaHistory;
import io.sagaflow.persistence.DatabaseSettings;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * STUB until {@code io.sagaflow.chaos.check.Checker} lands (see {@link Collaborators}): a few of
 * the run's checks, enough for the runner to fail honestly on a lost saga, a doubled effect or a
 * node that does not serve after the faults. The real checker replaces all of it.
 */
final class StubChecker {
  private StubChecker() {}

  /** One check: what it looked at and what it found wrong. */
  record Check(String id, String name, long checked, List<String> violations) {}

  /** Every check's outcome. */
  record Report(List<Check> checks) {
    boolean ok() {
      return checks.stream().allMatch(c -> c.violations().isEmpty());
    }

    String render() {
      var out = new StringBuilder("STUB checker (the real one has not landed):\n");
      for (Check c : checks) {
        out.append(
            String.format(
                "  %-4s %-60s checked %6d  violations %d%n",
                c.id(), c.name(), c.checked(), c.violations().size()));
        c.violations().stream()
            .limit(10)
            .forEach(v -> out.append("         - ").append(v).append('\n'));
      }
      return out.toString();
    }
  }

  static Report check(Path runDir, DatabaseSettings db) {
    List<ApiCall> history = Jsonl.read(runDir.resolve("history.jsonl"), ApiCall.class);
    List<FaultEvent> faults = Jsonl.read(runDir.resolve("faults.jsonl"), FaultEvent.class);
    List<LedgerEntry> ledger = Jsonl.read(runDir.resolve("ledger.jsonl"), LedgerEntry.class);
    Map<String, Long> journalRows = journalRows(db);
    return new Report(
        List.of(
            acknowledgedSagasEnd(history, journalRows),
            effectsAtMostOnce(ledger),
            servesAfterFaults(history, faults)));
  }

  /** C1 (part): every acknowledged start is in the journal and its last GET saw it end. */
  private static Check acknowledgedSagasEnd(List<ApiCall> history, Map<String, Long> journalRows) {
    Set<String> acknowledged = new HashSet<>();
    Map<String, String> lastStatus = new HashMap<>();
    for (ApiCall call : history) {
      if (call.op() == ApiCall.Op.START && call.phase() == ApiCall.Phase.OK) {
        acknowledged.add(call.sagaId());
      }
      if (call.op() == ApiCall.Op.GET && call.phase() != ApiCall.Phase.INVOKE) {
        lastStatus.put(
            call.sagaId(), call.http() == 200 ? call.sagaStatus() : "HTTP " + call.http());
      }
    }
    var violations = new ArrayList<String>();
    for (String id : acknowledged) {
      if (!journalRows.containsKey(id)) {
        violations.add(id + ": acknowledged, not in the journal");
      }
      String status = lastStatus.get(id);
      if (status == null || !Set.of("COMPLETED", "COMPENSATED", "FAILED").contains(status)) {
        violations.add(id + ": acknowledged, last seen " + status);
      }
    }
    return new Check(
        "C1", "acknowledged sagas are journalled and end", acknowledged.size(), violations);
  }

  /** C2 (part): no key's forward effect applied twice. */
  private static Check effectsAtMostOnce(List<LedgerEntry> ledger) {
    Map<String, Integer> applied = new LinkedHashMap<>();
    for (LedgerEntry e : ledger) {
      if (e.effect() == LedgerEntry.Effect.APPLIED) {
        applied.merge(e.key(), 1, Integer::sum);
      }
    }
    var violations = new ArrayList<String>();
    applied.forEach(
        (key, n) -> {
          if (n > 1) {
            violations.add(key + ": applied " + n + " times");
          }
        });
    return new Check("C2", "every effect applied at most once", applied.size(), violations);
  }

  /** C7: after the last fault every node is ready and a saga started on each node ends. */
  private static Check servesAfterFaults(List<ApiCall> history, List<FaultEvent> faults) {
    long over =
        faults.stream()
            .filter(f -> f.kind() == FaultEvent.Kind.FAULTS_OVER)
            .mapToLong(FaultEvent::t)
            .findFirst()
            .orElse(Long.MAX_VALUE);
    var violations = new ArrayList<String>();
    if (over == Long.MAX_VALUE) {
      violations.add("no FAULTS_OVER in faults.jsonl");
    }
    Map<String, Integer> ready = new HashMap<>();
    Set<String> startedOn = new HashSet<>();
    for (ApiCall call : history) {
      if (call.t() < over || call.phase() == ApiCall.Phase.INVOKE) {
        continue;
      }
      if (call.op() == ApiCall.Op.READY) {
        ready.merge(call.node(), call.http(), (a, b) -> a == 200 ? a : b);
      }
      if (call.op() == ApiCall.Op.START && call.phase() == ApiCall.Phase.OK && call.worker() < 0) {
        startedOn.add(call.node());
      }
    }
    for (String node : List.of("node1", "node2", "node3")) {
      if (ready.getOrDefault(node, 0) != 200) {
        violations.add(node + ": /ready after the last fault answered " + ready.get(node));
      }
      if (!startedOn.contains(node)) {
        violations.add(node + ": no saga started on it after the last fault");
      }
    }
    return new Check("C7", "every node serves after the last fault", 3, violations);
  }

  /** Journal rows per saga id. */
  private static Map<String, Long> journalRows(DatabaseSettings db) {
    var rows = new HashMap<String, Long>();
    String prefix = SagaHistory.persistenceId("x").id();
    prefix = prefix.substring(0, prefix.length() - 1);
    try (Connection c = DriverManager.getConnection(db.url(), db.user(), db.password());
        Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery(
                "select persistence_id, count(*) from event_journal"
                    + " where persistence_id like '"
                    + prefix
                    + "%' group by persistence_id")) {
      while (rs.next()) {
        rows.put(rs.getString(1).substring(prefix.length()), rs.getLong(2));
      }
    } catch (SQLException e) {
      throw new IllegalStateException("could not read the journal: " + e.getMessage(), e);
    }
    return rows;
  }
}
