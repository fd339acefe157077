package io.sagaflow.chaos.format;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One line of a run's {@code faults.jsonl}: a fault the runner injected or ended, in the order it
 * did so.
 *
 * @param t when, epoch milliseconds
 * @param kind {@link Kind}
 * @param node the node it concerns ({@code node1}..), null for the database and the participants
 * @param detail e.g. the pid killed, how long the pause or outage lasted
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record FaultEvent(long t, Kind kind, String node, String detail) {

  public enum Kind {
    /** {@code kill -9} of a node. */
    KILL,
    /** A node (re)started after it was killed or had exited. */
    RESTART,
    /** {@code SIGSTOP} of a node. */
    STOP,
    /** {@code SIGCONT} of a stopped node. */
    CONT,
    /** PostgreSQL stopped with {@code -m immediate}. */
    DB_STOP,
    /** PostgreSQL started again. */
    DB_START,
    /** A node cut off from the others (its remoting proxy drops everything). */
    PARTITION,
    /** The cut healed. */
    HEAL,
    /** Every participant answers 503. */
    STORM_START,
    STORM_END,
    /** The last fault has ended: the run drains from here. */
    FAULTS_OVER
  }
}
