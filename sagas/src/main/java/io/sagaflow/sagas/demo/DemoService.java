package io.sagaflow.sagas.demo;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * One demo participant: its business routes and its ledger. The {@link ServiceEndpoint} around it
 * does the rest (idempotency, faults, validation errors, logging) and runs its handlers one at a
 * time, so a service's own state needs no locking.
 */
abstract class DemoService {

  private final String name;
  protected final Ledger ledger;

  protected DemoService(String name) {
    this.name = name;
    this.ledger = new Ledger(name);
  }

  final String name() {
    return name;
  }

  final Ledger ledger() {
    return ledger;
  }

  abstract List<Route> routes();

  protected static ObjectNode object() {
    return ServiceEndpoint.JSON.createObjectNode();
  }

  /** The answer of a compensation, the same whether or not there was anything to undo. */
  protected static ObjectNode undone(
      String referenceField, String reference, String idField, Bookings.Undo undo, String status) {
    return object()
        .put(referenceField, reference)
        .put(idField, undo.id())
        .put("status", status)
        .put("nothingToUndo", undo.nothingToUndo());
  }
}
