package io.sagaflow.sagas.demo;

import java.math.BigDecimal;
import java.util.List;
import java.util.Optional;

/**
 * Card payments, keyed by the caller's reference (an order or trip id): authorizations, which can
 * be voided, and charges, which are final. Amounts above {@value #LIMIT} are declined with 402.
 */
final class PaymentsService extends DemoService {

  static final String NAME = "payments";
  static final int LIMIT = 1000;

  private final Bookings authorizations =
      new Bookings("authorization", "reference", "voided", "auth");
  private final Bookings charges = new Bookings("charge", "reference", "refunded", "ch");

  PaymentsService() {
    super(NAME);
  }

  @Override
  List<Route> routes() {
    return List.of(
        Route.post("/authorizations", this::authorize),
        Route.post("/authorizations/{reference}/void", this::voidAuthorization),
        Route.post("/charges", this::charge));
  }

  private Reply authorize(Call call) {
    return pay(call, authorizations, "authorize", "authorizationId", "AUTHORIZED");
  }

  private Reply charge(Call call) {
    return pay(call, charges, "charge", "chargeId", "CAPTURED");
  }

  private Reply pay(Call call, Bookings bookings, String operation, String idField, String status) {
    String reference = call.id("reference");
    BigDecimal amount = call.amount("amount");
    String currency = call.currency("currency");
    Optional<Reply> conflict = bookings.conflict(reference);
    if (conflict.isPresent()) {
      return conflict.get();
    }
    if (amount.compareTo(BigDecimal.valueOf(LIMIT)) > 0) {
      return Reply.problem(
          402,
          "payment-declined",
          "Payment declined",
          "the card was declined: amounts above "
              + LIMIT
              + " are declined, was "
              + amount.toPlainString()
              + " "
              + currency);
    }
    String id = bookings.make(reference);
    ledger.record(
        call,
        operation,
        reference,
        Ledger.Effect.APPLIED,
        object().put(idField, id).put("amount", amount).put("currency", currency));
    return Reply.created(
        object()
            .put(idField, id)
            .put("reference", reference)
            .put("amount", amount)
            .put("currency", currency)
            .put("status", status));
  }

  private Reply voidAuthorization(Call call) {
    String reference = call.pathId("reference");
    Bookings.Undo undo = authorizations.undo(reference);
    ledger.record(
        call, "void", reference, undo.effect(), object().put("authorizationId", undo.id()));
    return Reply.ok(undone("reference", reference, "authorizationId", undo, "VOIDED"));
  }
}
