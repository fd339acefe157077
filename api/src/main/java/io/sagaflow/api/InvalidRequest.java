package io.sagaflow.api;

/** A request refused while it is read, with the problem to answer. */
final class InvalidRequest extends Exception {
  private final Problem problem;

  InvalidRequest(Problem problem) {
    // No stack trace: this is an answer to a client, not a bug.
    super(problem.detail(), null, false, false);
    this.problem = problem;
  }

  Problem problem() {
    return problem;
  }
}
