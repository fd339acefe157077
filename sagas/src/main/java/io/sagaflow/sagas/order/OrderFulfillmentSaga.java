package io.sagaflow.sagas.order;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.StepKey;
import java.math.BigDecimal;
import java.time.Duration;

/**
 * Order fulfillment: reserve the stock, authorize the payment, create the shipment. When a step
 * fails for good, the steps before it are undone, newest first: the shipment cancelled, the
 * authorization voided, the stock released. There is no pivot, so the deadline or a cancel can undo
 * everything up to the last step.
 *
 * <p>Every compensation is addressed by the order id from the input, never by a step's output: a
 * step whose outcome is uncertain (it timed out, or its retries ran out) has no output, yet may
 * have happened, and is compensated all the same. The participants answer such a compensation with
 * 200 and "nothing to undo" when the action never happened.
 */
public final class OrderFulfillmentSaga {

  public static final String NAME = "order-fulfillment";
  public static final int VERSION = 1;

  /** Reserves the stock; its answer names the reservation the shipment ships from. */
  public static final StepKey<Reservation> RESERVE_INVENTORY =
      StepKey.of("reserve-inventory", Reservation.class);

  public static final StepKey<JsonNode> AUTHORIZE_PAYMENT = StepKey.json("authorize-payment");
  public static final StepKey<JsonNode> CREATE_SHIPMENT = StepKey.json("create-shipment");

  public static final String INVENTORY = "inventory";
  public static final String PAYMENTS = "payments";
  public static final String SHIPPING = "shipping";

  /** How long an order may take before whatever it did is undone. */
  public static final Duration DEADLINE = Duration.ofMinutes(5);

  private OrderFulfillmentSaga() {}

  public static SagaDefinition<OrderInput> definition() {
    return SagaDefinition.builder(NAME, OrderInput.class)
        .version(VERSION)
        .deadline(DEADLINE)
        .defaultTimeout(Duration.ofSeconds(5))
        // About 30 s of retrying per step at most, so three steps fit well within the deadline.
        .defaultRetry(
            retry ->
                retry
                    .maxAttempts(5)
                    .minBackoff(Duration.ofMillis(200))
                    .maxBackoff(Duration.ofSeconds(5)))
        // Undoing matters more than finishing fast: keep trying for about a quarter of an hour
        // before an operator is asked to step in.
        .compensationRetry(
            retry ->
                retry
                    .maxAttempts(30)
                    .minBackoff(Duration.ofSeconds(1))
                    .maxBackoff(Duration.ofSeconds(30)))
        .step(
            RESERVE_INVENTORY,
            step ->
                step.invoke(
                        HttpCall.post(
                            INVENTORY, "/reservations", ctx -> ReserveStock.of(ctx.input())))
                    .compensateWith(
                        HttpCall.post(
                            INVENTORY,
                            ctx -> "/reservations/" + ctx.input().orderId() + "/release")))
        .step(
            AUTHORIZE_PAYMENT,
            step ->
                step.invoke(
                        HttpCall.post(
                            PAYMENTS, "/authorizations", ctx -> Authorize.of(ctx.input())))
                    .compensateWith(
                        HttpCall.post(
                            PAYMENTS, ctx -> "/authorizations/" + ctx.input().orderId() + "/void"))
                    // Card networks are slower than our own services.
                    .timeout(Duration.ofSeconds(10)))
        .step(
            CREATE_SHIPMENT,
            step ->
                step.invoke(
                        HttpCall.post(
                            SHIPPING,
                            "/shipments",
                            ctx ->
                                CreateShipment.of(
                                    ctx.input(), ctx.output(RESERVE_INVENTORY).reservationId())))
                    .compensateWith(
                        HttpCall.post(
                            SHIPPING, ctx -> "/shipments/" + ctx.input().orderId() + "/cancel")))
        .build();
  }

  /** What inventory answers a reservation with (other fields are ignored). */
  public record Reservation(String reservationId) {}

  /** Body of {@code POST inventory/reservations}. */
  record ReserveStock(String orderId, String sku, int quantity) {
    static ReserveStock of(OrderInput order) {
      return new ReserveStock(order.orderId(), order.sku(), order.quantity());
    }
  }

  /** Body of {@code POST payments/authorizations}. */
  record Authorize(String reference, BigDecimal amount, String currency) {
    static Authorize of(OrderInput order) {
      return new Authorize(order.orderId(), order.amount(), order.currency());
    }
  }

  /**
   * Body of {@code POST shipping/shipments}. It names the stock reservation to ship from: a forward
   * step may use earlier outputs, because those steps have succeeded.
   */
  record CreateShipment(
      String orderId, String customerId, String sku, int quantity, String reservationId) {
    static CreateShipment of(OrderInput order, String reservationId) {
      return new CreateShipment(
          order.orderId(), order.customerId(), order.sku(), order.quantity(), reservationId);
    }
  }
}
