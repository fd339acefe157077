package io.sagaflow.sagas.demo;

import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Things a demo service makes at most once per business reference (an order or trip id) and undoes
 * at most once: reservations, authorizations, charges, shipments.
 *
 * <p>Undoing a reference that has nothing leaves a tombstone, so that the action, should it still
 * arrive (a call that outlived the orchestrator's timeout), is refused instead of applied after its
 * compensation. Not thread-safe: the endpoint serves one call of a service at a time.
 */
final class Bookings {

  private enum State {
    ACTIVE,
    UNDONE
  }

  /** {@code id} is null for a tombstone: undone before it was ever made. */
  private record Booking(String id, State state) {}

  /** The outcome of an undo: the id undone, if there was one, and what the ledger records. */
  record Undo(String id, Ledger.Effect effect) {
    boolean nothingToUndo() {
      return effect == Ledger.Effect.NOTHING_TO_UNDO;
    }
  }

  private final String noun;
  private final String referenceName;
  private final String undonePastTense;
  private final String idPrefix;
  private final Map<String, Booking> byReference = new HashMap<>();

  /**
   * @param noun what is booked, e.g. {@code reservation}
   * @param referenceName what the reference names, e.g. {@code order}
   * @param undonePastTense how an undone booking is described, e.g. {@code released}
   * @param idPrefix the prefix of generated ids, e.g. {@code res}
   */
  Bookings(String noun, String referenceName, String undonePastTense, String idPrefix) {
    this.noun = noun;
    this.referenceName = referenceName;
    this.undonePastTense = undonePastTense;
    this.idPrefix = idPrefix;
  }

  /**
   * Why a new booking for {@code reference} is refused (409), if it is: one exists already, or it
   * was undone (perhaps before it was made). A new order or trip needs a new id.
   */
  Optional<Reply> conflict(String reference) {
    Booking booking = byReference.get(reference);
    if (booking == null) {
      return Optional.empty();
    }
    String subject = noun + " for " + referenceName + " " + reference;
    if (booking.state() == State.ACTIVE) {
      return Optional.of(
          Reply.problem(
              409,
              "already-exists",
              "Already exists",
              subject + " already exists (" + booking.id() + ") under another idempotency key"));
    }
    return Optional.of(
        Reply.problem(
            409,
            "already-" + undonePastTense,
            "Already " + undonePastTense,
            booking.id() == null
                ? subject + " was " + undonePastTense + " before it was made; it stays undone"
                : subject + " was " + undonePastTense + " (" + booking.id() + ")"));
  }

  /** Makes a booking; call {@link #conflict} first. Returns its new id. */
  String make(String reference) {
    String id =
        idPrefix + "-" + UUID.randomUUID().toString().substring(0, 8).toLowerCase(Locale.ROOT);
    byReference.put(reference, new Booking(id, State.ACTIVE));
    return id;
  }

  /** Undoes the booking for {@code reference}; safe whether it exists, was undone, or never was. */
  Undo undo(String reference) {
    Booking booking = byReference.get(reference);
    if (booking == null) {
      byReference.put(reference, new Booking(null, State.UNDONE));
      return new Undo(null, Ledger.Effect.NOTHING_TO_UNDO);
    }
    if (booking.state() == State.UNDONE) {
      return new Undo(booking.id(), Ledger.Effect.NOTHING_TO_UNDO);
    }
    byReference.put(reference, new Booking(booking.id(), State.UNDONE));
    return new Undo(booking.id(), Ledger.Effect.UNDONE);
  }
}
