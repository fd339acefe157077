package io.sagaflow.sagas.demo;

import java.util.List;

/**
 * Stock reservations, one per order: {@code POST /reservations} reserves, {@code POST
 * /reservations/{orderId}/release} releases. The sku {@value #OUT_OF_STOCK} is never in stock.
 */
final class InventoryService extends DemoService {

  static final String NAME = "inventory";
  static final String OUT_OF_STOCK = "OUT-OF-STOCK";

  private final Bookings reservations = new Bookings("reservation", "order", "released", "res");

  InventoryService() {
    super(NAME);
  }

  @Override
  List<Route> routes() {
    return List.of(
        Route.post("/reservations", this::reserve),
        Route.post("/reservations/{orderId}/release", this::release));
  }

  private Reply reserve(Call call) {
    String orderId = call.id("orderId");
    String sku = call.id("sku");
    int quantity = call.integer("quantity", 1, 1_000_000);
    var conflict = reservations.conflict(orderId);
    if (conflict.isPresent()) {
      return conflict.get();
    }
    if (sku.equals(OUT_OF_STOCK)) {
      return Reply.problem(
          409, "out-of-stock", "Out of stock", "sku " + sku + " has no stock to reserve");
    }
    String reservationId = reservations.make(orderId);
    var details =
        object().put("reservationId", reservationId).put("sku", sku).put("quantity", quantity);
    ledger.record(call, "reserve", orderId, Ledger.Effect.APPLIED, details);
    return Reply.created(
        object()
            .put("reservationId", reservationId)
            .put("orderId", orderId)
            .put("sku", sku)
            .put("quantity", quantity)
            .put("status", "RESERVED"));
  }

  private Reply release(Call call) {
    String orderId = call.pathId("orderId");
    Bookings.Undo undo = reservations.undo(orderId);
    ledger.record(
        call, "release", orderId, undo.effect(), object().put("reservationId", undo.id()));
    return Reply.ok(undone("orderId", orderId, "reservationId", undo, "RELEASED"));
  }
}
