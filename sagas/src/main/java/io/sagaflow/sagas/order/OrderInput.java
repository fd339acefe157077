package io.sagaflow.sagas.order;

import static io.sagaflow.sagas.InputRules.requireBetween;
import static io.sagaflow.sagas.InputRules.requireId;
import static io.sagaflow.sagas.InputRules.requireMoney;

import java.math.BigDecimal;

/**
 * Input of {@link OrderFulfillmentSaga}: one order line to reserve, pay for and ship.
 *
 * @param orderId the order; names the reservation, the authorization and the shipment at the
 *     participants, so their compensations can be addressed without any step's output
 * @param amount the total to authorize, in {@code currency}
 */
public record OrderInput(
    String orderId,
    String customerId,
    String sku,
    int quantity,
    BigDecimal amount,
    String currency) {

  public static final int MAX_QUANTITY = 1000;

  /** Rejects a bad order before the saga starts, naming the field. */
  public OrderInput {
    requireId("orderId", orderId);
    requireId("customerId", customerId);
    requireId("sku", sku);
    requireBetween("quantity", quantity, 1, MAX_QUANTITY);
    requireMoney(amount, currency);
  }
}
