package io.sagaflow.orchestrator.dsl;

import java.util.List;

/**
 * One stage of a definition, run once the stage before it has succeeded: a single step (which may
 * be a fan-out), or a parallel group whose branches start together.
 *
 * @param name the step's name, or the group's
 * @param group whether this is a parallel group
 * @param steps the step, or the group's branches in the order they were declared
 */
public record Stage(String name, boolean group, List<Step> steps) {
  public Stage {
    steps = List.copyOf(steps);
  }

  /** Whether this stage runs branches (a parallel group, or a fan-out over a list). */
  public boolean branches() {
    return group || steps.get(0).fanOut().isPresent();
  }
}
