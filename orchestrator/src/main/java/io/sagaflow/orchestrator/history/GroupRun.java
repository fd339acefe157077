package io.sagaflow.orchestrator.history;

import io.sagaflow.orchestrator.SagaSerializable;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * A parallel group (or a fan-out) under way: its branches in order, how many run at a time, the
 * attempts due or out ({@code due}: forward while it runs or waits for answers, compensations once
 * it undoes), the branches not started yet and those that wait to be undone.
 *
 * @param name the group's name, or the fan-out step's
 * @param branches every branch, in the order they were declared (or the list gave them)
 * @param maxConcurrency how many branches run at a time; 0 for all
 */
public record GroupRun(
    String name,
    List<String> branches,
    int maxConcurrency,
    List<Cursor> due,
    List<String> pending,
    List<String> undo)
    implements SagaSerializable {

  public GroupRun {
    branches = List.copyOf(branches);
    due = List.copyOf(due);
    pending = List.copyOf(pending);
    undo = List.copyOf(undo);
  }

  /** The attempt of {@code step} due or out, or null. */
  public Cursor cursor(String step) {
    for (Cursor c : due) {
      if (c.step().equals(step)) {
        return c;
      }
    }
    return null;
  }

  /** Whether the due attempts are forward ones (branches running, or answers awaited). */
  public boolean forward() {
    return due.isEmpty() || due.get(0).phase() == Phase.FORWARD;
  }

  static GroupRun started(String name, List<String> branches, int maxConcurrency) {
    int running = maxConcurrency > 0 ? Math.min(maxConcurrency, branches.size()) : branches.size();
    var due = new ArrayList<Cursor>();
    for (String b : branches.subList(0, running)) {
      due.add(Cursor.first(Phase.FORWARD, b));
    }
    return new GroupRun(
        name, branches, maxConcurrency, due, branches.subList(running, branches.size()), List.of());
  }

  GroupRun change(String step, UnaryOperator<Cursor> change) {
    var next = new ArrayList<Cursor>(due.size());
    boolean found = false;
    for (Cursor c : due) {
      found |= c.step().equals(step);
      next.add(c.step().equals(step) ? change.apply(c) : c);
    }
    if (!found) {
      throw new IllegalStateException("group '" + name + "' has no attempt of " + step + " due");
    }
    return new GroupRun(name, branches, maxConcurrency, next, pending, undo);
  }

  GroupRun without(String step) {
    if (cursor(step) == null) {
      throw new IllegalStateException("group '" + name + "' has no attempt of " + step + " due");
    }
    var next = new ArrayList<>(due);
    next.removeIf(c -> c.step().equals(step));
    return new GroupRun(name, branches, maxConcurrency, next, pending, undo);
  }

  /** The branches not started yet that may start now. */
  List<String> startable() {
    int room = maxConcurrency > 0 ? maxConcurrency - due.size() : pending.size();
    return pending.subList(0, Math.max(0, Math.min(room, pending.size())));
  }

  GroupRun start(List<String> steps) {
    var next = new ArrayList<>(due);
    steps.forEach(s -> next.add(Cursor.first(Phase.FORWARD, s)));
    var left = new ArrayList<>(pending);
    left.removeAll(steps);
    return new GroupRun(name, branches, maxConcurrency, next, left, undo);
  }

  /** Only the attempts of {@code awaiting} stay due; nothing starts any more. */
  GroupRun awaiting(List<String> awaiting, List<String> toUndo) {
    var next = new ArrayList<Cursor>();
    for (Cursor c : due) {
      if (awaiting.contains(c.step())) {
        next.add(c);
      }
    }
    return new GroupRun(name, branches, maxConcurrency, next, List.of(), inOrder(toUndo));
  }

  GroupRun toUndo(String step) {
    var more = new ArrayList<>(undo);
    more.add(step);
    return new GroupRun(name, branches, maxConcurrency, due, pending, inOrder(more));
  }

  /** Every branch waiting to be undone, due now, together. */
  GroupRun undoing() {
    var next = new ArrayList<Cursor>();
    undo.forEach(s -> next.add(Cursor.first(Phase.COMPENSATION, s)));
    return new GroupRun(name, branches, maxConcurrency, next, pending, List.of());
  }

  GroupRun map(UnaryOperator<Cursor> change) {
    return new GroupRun(
        name, branches, maxConcurrency, due.stream().map(change).toList(), pending, undo);
  }

  private List<String> inOrder(List<String> steps) {
    return branches.stream().filter(steps::contains).toList();
  }
}
