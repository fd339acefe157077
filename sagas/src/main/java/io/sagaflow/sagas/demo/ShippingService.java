package io.sagaflow.sagas.demo;

import java.util.List;

/**
 * Shipments, one per order: {@code POST /shipments} creates, {@code POST
 * /shipments/{orderId}/cancel} cancels.
 */
final class ShippingService extends DemoService {

  static final String NAME = "shipping";

  private final Bookings shipments = new Bookings("shipment", "order", "cancelled", "shp");

  ShippingService() {
    super(NAME);
  }

  @Override
  List<Route> routes() {
    return List.of(
        Route.post("/shipments", this::create),
        Route.post("/shipments/{orderId}/cancel", this::cancel));
  }

  private Reply create(Call call) {
    String orderId = call.id("orderId");
    String customerId = call.id("customerId");
    String sku = call.id("sku");
    int quantity = call.integer("quantity", 1, 1_000_000);
    var conflict = shipments.conflict(orderId);
    if (conflict.isPresent()) {
      return conflict.get();
    }
    String shipmentId = shipments.make(orderId);
    ledger.record(
        call,
        "create",
        orderId,
        Ledger.Effect.APPLIED,
        object()
            .put("shipmentId", shipmentId)
            .put("customerId", customerId)
            .put("sku", sku)
            .put("quantity", quantity));
    return Reply.created(
        object().put("shipmentId", shipmentId).put("orderId", orderId).put("status", "CREATED"));
  }

  private Reply cancel(Call call) {
    String orderId = call.pathId("orderId");
    Bookings.Undo undo = shipments.undo(orderId);
    ledger.record(call, "cancel", orderId, undo.effect(), object().put("shipmentId", undo.id()));
    return Reply.ok(undone("orderId", orderId, "shipmentId", undo, "CANCELLED"));
  }
}
