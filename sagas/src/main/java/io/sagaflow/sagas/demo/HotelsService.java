package io.sagaflow.sagas.demo;

import java.time.LocalDate;
import java.util.List;

/**
 * Hotel reservations, one per trip: {@code POST /reservations} reserves, {@code POST
 * /reservations/{tripId}/cancel} cancels. There are no hotels in {@value #NOWHERE}.
 */
final class HotelsService extends DemoService {

  static final String NAME = "hotels";
  static final String NOWHERE = "NOWHERE";

  private final Bookings reservations =
      new Bookings("hotel reservation", "trip", "cancelled", "ht");

  HotelsService() {
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
    String guest = call.text("guest", 100);
    String city = call.text("city", 64);
    LocalDate checkIn = call.date("checkIn");
    int nights = call.integer("nights", 1, 365);
    var conflict = reservations.conflict(tripId);
    if (conflict.isPresent()) {
      return conflict.get();
    }
    if (city.strip().equalsIgnoreCase(NOWHERE)) {
      return Reply.problem(
          422, "unknown-destination", "Unknown destination", "no hotels in " + city);
    }
    String reservationId = reservations.make(tripId);
    LocalDate checkOut = checkIn.plusDays(nights);
    ledger.record(
        call,
        "reserve",
        tripId,
        Ledger.Effect.APPLIED,
        object()
            .put("reservationId", reservationId)
            .put("guest", guest)
            .put("city", city)
            .put("checkIn", checkIn.toString())
            .put("nights", nights));
    return Reply.created(
        object()
            .put("reservationId", reservationId)
            .put("tripId", tripId)
            .put("city", city)
            .put("checkIn", checkIn.toString())
            .put("checkOut", checkOut.toString())
            .put("status", "RESERVED"));
  }

  private Reply cancel(Call call) {
    String tripId = call.pathId("tripId");
    Bookings.Undo undo = reservations.undo(tripId);
    ledger.record(call, "cancel", tripId, undo.effect(), object().put("reservationId", undo.id()));
    return Reply.ok(undone("tripId", tripId, "reservationId", undo, "CANCELLED"));
  }
}
