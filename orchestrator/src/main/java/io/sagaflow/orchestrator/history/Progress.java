package io.sagaflow.orchestrator.history;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import io.sagaflow.orchestrator.SagaSerializable;
import io.sagaflow.orchestrator.history.SagaEvent.SagaStarted;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.UnaryOperator;

/**
 * What every phase of a started saga carries: how it started, its steps as far as it got, why it
 * compensates or failed, the operator commands it has handled, when it last changed, the branches
 * of every parallel group (or fan-out) it has started, by group, and the signals it has received
 * (name to payload; JSON null for none), kept until a step takes them.
 */
public record Progress(
    SagaStarted start,
    List<StepSnapshot> steps,
    String failure,
    Set<String> commandIds,
    Instant updatedAt,
    Map<String, List<String>> groups,
    Map<String, JsonNode> signals)
    implements SagaSerializable {

  public Progress {
    steps = List.copyOf(steps);
    commandIds = Set.copyOf(commandIds);
    groups = groups == null ? Map.of() : Map.copyOf(groups);
    var kept = new TreeMap<String, JsonNode>();
    if (signals != null) {
      signals.forEach(
          (name, payload) -> kept.put(name, payload == null ? NullNode.getInstance() : payload));
    }
    signals = Collections.unmodifiableMap(kept);
  }

  /** Progress before any group or signal. */
  public Progress(
      SagaStarted start,
      List<StepSnapshot> steps,
      String failure,
      Set<String> commandIds,
      Instant updatedAt) {
    this(start, steps, failure, commandIds, updatedAt, Map.of(), Map.of());
  }

  static Progress of(SagaStarted started) {
    return new Progress(
        started,
        List.of(StepSnapshot.running(started.firstStep(), started.at())),
        null,
        Set.of(),
        started.at());
  }

  /** The group (or fan-out) {@code step} is a branch of, or null. */
  public String groupOf(String step) {
    for (var group : groups.entrySet()) {
      if (group.getValue().contains(step)) {
        return group.getKey();
      }
    }
    return null;
  }

  Progress withGroup(String name, List<String> branches) {
    var more = new HashMap<>(groups);
    more.put(name, List.copyOf(branches));
    return new Progress(start, steps, failure, commandIds, updatedAt, more, signals);
  }

  /** Progress with the signal {@code e} kept, and its command id handled. */
  Progress signalled(SagaEvent.SignalReceived e) {
    var more = new TreeMap<>(signals);
    more.put(e.signal(), e.payload());
    return new Progress(start, steps, failure, commandIds, updatedAt, groups, more)
        .handled(e.commandId());
  }

  /** The step of this name, or null when the saga has not reached it. */
  public StepSnapshot step(String name) {
    for (StepSnapshot s : steps) {
      if (s.name().equals(name)) {
        return s;
      }
    }
    return null;
  }

  Progress changeStep(String name, UnaryOperator<StepSnapshot> change) {
    var changed = new ArrayList<StepSnapshot>(steps.size());
    boolean found = false;
    for (StepSnapshot s : steps) {
      found |= s.name().equals(name);
      changed.add(s.name().equals(name) ? change.apply(s) : s);
    }
    if (!found) {
      throw new IllegalStateException("saga has no step state for " + name);
    }
    return new Progress(start, changed, failure, commandIds, updatedAt, groups, signals);
  }

  Progress plusStep(StepSnapshot step) {
    var more = new ArrayList<>(steps);
    more.add(step);
    return new Progress(start, more, failure, commandIds, updatedAt, groups, signals);
  }

  Progress failedBecause(String reason) {
    return new Progress(start, steps, reason, commandIds, updatedAt, groups, signals);
  }

  Progress handled(String commandId) {
    if (commandId == null) {
      return this;
    }
    var ids = new HashSet<>(commandIds);
    ids.add(commandId);
    return new Progress(start, steps, failure, ids, updatedAt, groups, signals);
  }

  Progress at(Instant at) {
    return new Progress(start, steps, failure, commandIds, at, groups, signals);
  }
}
