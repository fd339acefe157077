package io.sagaflow.sagas.demo;

import java.time.LocalDate;
import java.util.List;

/**
 * Flight reservations, one per trip: {@code POST /reservations} reserves, {@code POST
 * /reservations/{tripId}/cancel} cancels. Nothing flies from or to {@value #NOWHERE}.
 */
final class FlightsService extends DemoService {

  static final String NAME = "flights";
  static final String NOWHERE = "NOWHERE";

  private final Bookings reservations =
      new Bookings("flight reservation", "trip", "cancelled", "fl");

  FlightsService() {
    super(NAME);
  }

  @Override
  List<Route> routes() {
    return List.of(
        Route.post("/reservations", this::reserve),
        Route.post("/reservations/{tripId}/cancel", this::cancel));
  }

  private Reply reserve(Call call) {
    String tripId = call.id("tripId");
    String traveler = call.text("traveler", 100);
    String from = call.text("from", 64);
    String to = call.text("to", 64);
    LocalDate departOn = call.date("departOn");
    var conflict = reservations.conflict(tripId);
    if (conflict.isPresent()) {
      return conflict.get();
    }
    for (String place : List.of(from, to)) {
      if (place.strip().equalsIgnoreCase(NOWHERE)) {
        return Reply.problem(
            422, "unknown-destination", "Unknown destination", "no flights serve " + place);
      }
    }
    String reservationId = reservations.make(tripId);
    String flightNumber = "SF" + (100 + Math.floorMod((from + to).hashCode(), 900));
    ledger.record(
        call,
        "reserve",
        tripId,
        Ledger.Effect.APPLIED,
        object()
            .put("reservationId", reservationId)
            .put("flightNumber", flightNumber)
            .put("traveler", traveler)
            .put("departOn", departOn.toString()));
    return Reply.created(
        object()
            .put("reservationId", reservationId)
            .put("tripId", tripId)
            .put("flightNumber", flightNumber)
            .put("from", from)
            .put("to", to)
            .put("departOn", departOn.toString())
            .put("status", "RESERVED"));
  }

  private Reply cancel(Call call) {
    String tripId = call.pathId("tripId");
    Bookings.Undo undo = reservations.undo(tripId);
    ledger.record(call, "cancel", tripId, undo.effect(), object().put("reservationId", undo.id()));
    return Reply.ok(undone("tripId", tripId, "reservationId", undo, "CANCELLED"));
  }
}
