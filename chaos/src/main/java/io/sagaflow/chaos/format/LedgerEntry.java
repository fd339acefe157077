package io.sagaflow.chaos.format;

import com.fasterxml.jackson.annotation.JsonInclude;

/**
 * One line of a participant's {@code ledger.jsonl}: one delivery of one request to the
 * fault-injecting participant, with the fault the seeded mix chose for it and what the participant
 * did. The ledger is the ground truth of effects: a check that asks "was this step applied?" reads
 * it, not the orchestrator's journal.
 *
 * @param received when the delivery arrived, epoch milliseconds (ordering checks use this)
 * @param t when the participant finished handling the delivery (about to answer, or dropping the
 *     answer), epoch milliseconds; the line is written before the answer is sent
 * @param participant the participant's name ({@code alpha}, {@code beta}, {@code gamma})
 * @param sagaId the saga (the key up to its first {@code /})
 * @param step the step
 * @param call {@link Call}
 * @param key the {@code Idempotency-Key} as received: {@code {sagaId}/{step}} or {@code
 *     {sagaId}/{step}/compensation}
 * @param delivery 1 for the first delivery of this key, 2 for the second, ...
 * @param fault what the mix chose for this delivery ({@code none}, {@code error-before}, {@code
 *     lost-after}, {@code delayed-after}, {@code duplicate}, {@code slow}, {@code reject}, {@code
 *     oversized}, {@code malformed}, or a participant-wide one such as {@code storm})
 * @param effect {@link Effect}
 * @param http the status answered, 0 when the answer was lost on purpose
 * @param attempt the engine's {@code Saga-Attempt} header (which attempt of the call this delivery
 *     carried), null when absent or from a ledger written before it was recorded
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record LedgerEntry(
    long received,
    long t,
    String participant,
    String sagaId,
    String step,
    Call call,
    String key,
    int delivery,
    String fault,
    Effect effect,
    int http,
    Integer attempt) {

  public enum Call {
    FORWARD,
    COMPENSATION
  }

  public enum Effect {
    /** A forward call's effect was applied, now (the first time for this key). */
    APPLIED,
    /** The key's effect (or undo) had been applied before: answered as then, nothing applied. */
    DEDUPLICATED,
    /** A compensation reverted its step's applied effect, now. */
    UNDONE,
    /** A compensation for a step whose effect was never applied: nothing to undo. */
    NOOP,
    /** Permanently refused with a 4xx: nothing applied, and never will be for this key. */
    REJECTED,
    /** Answered an error (5xx) before applying anything. */
    ERROR,
    /** A forward call that arrived after its step's compensation: refused, nothing applied. */
    REFUSED_AFTER_COMPENSATION
  }
}
