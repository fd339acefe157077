package io.sagaflow.sagas.order;

import static io.sagaflow.sagas.order.OrderFulfillmentSaga.AUTHORIZE_PAYMENT;
import static io.sagaflow.sagas.order.OrderFulfillmentSaga.CREATE_SHIPMENT;
import static io.sagaflow.sagas.order.OrderFulfillmentSaga.RESERVE_INVENTORY;

import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.StepStatus;
import io.sagaflow.testkit.Answer;
import io.sagaflow.testkit.SagaTestKit;
import java.math.BigDecimal;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Order fulfillment against scripted inventory, payments and shipping participants. */
class OrderFulfillmentSagaTest {
  private static final SagaTestKit kit = SagaTestKit.create();

  private static final OrderInput ORDER =
      new OrderInput("order-1", "cust-7", "SKU-42", 2, new BigDecimal("49.90"), "EUR");

  @AfterAll
  static void close() {
    kit.close();
  }

  @Test
  void anOrderIsReservedPaidForAndShippedFromItsReservation() {
    kit.given(OrderFulfillmentSaga.definition())
        .step(RESERVE_INVENTORY)
        .answers(Answer.ok("{\"reservationId\": \"res-1\", \"sku\": \"SKU-42\"}"))
        .when()
        .started("order-1", ORDER)
        .expect()
        .status(SagaStatus.COMPLETED)
        .calls("reserve-inventory", "authorize-payment", "create-shipment")
        .call(RESERVE_INVENTORY, 1)
        .hasIdempotencyKey("order-1/reserve-inventory")
        .hasParticipant("inventory")
        .hasMethod("POST")
        .hasPath("/reservations")
        .hasBody("{\"orderId\": \"order-1\", \"sku\": \"SKU-42\", \"quantity\": 2}")
        .call(AUTHORIZE_PAYMENT, 1)
        .hasIdempotencyKey("order-1/authorize-payment")
        .hasParticipant("payments")
        .hasPath("/authorizations")
        .hasBody("{\"reference\": \"order-1\", \"amount\": 49.90, \"currency\": \"EUR\"}")
        .call(CREATE_SHIPMENT, 1)
        .hasIdempotencyKey("order-1/create-shipment")
        .hasParticipant("shipping")
        .hasPath("/shipments")
        .hasBody(
            "{\"orderId\": \"order-1\", \"customerId\": \"cust-7\", \"sku\": \"SKU-42\","
                + " \"quantity\": 2, \"reservationId\": \"res-1\"}");
  }

  @Test
  void aShipmentRefusedVoidsThePaymentThenReleasesTheStockNewestFirst() {
    kit.given(OrderFulfillmentSaga.definition())
        .step(RESERVE_INVENTORY)
        .answers(Answer.ok("{\"reservationId\": \"res-1\"}"))
        .step(CREATE_SHIPMENT)
        .answers(Answer.status(422, "{\"title\": \"address not deliverable\"}"))
        .when()
        .started("order-1", ORDER)
        .expect()
        .status(SagaStatus.COMPENSATED)
        .calls(
            "reserve-inventory",
            "authorize-payment",
            "create-shipment",
            "undo authorize-payment",
            "undo reserve-inventory")
        .failureContains("address not deliverable")
        .stepStatus(CREATE_SHIPMENT, StepStatus.REJECTED)
        .compensationCall(AUTHORIZE_PAYMENT, 1)
        .hasIdempotencyKey("order-1/authorize-payment/compensation")
        .hasPath("/authorizations/order-1/void")
        .hasNoBody()
        .compensationCall(RESERVE_INVENTORY, 1)
        .hasIdempotencyKey("order-1/reserve-inventory/compensation")
        .hasPath("/reservations/order-1/release");
  }

  @Test
  void aReservationThatNeverAnsweredIsReleasedByTheOrderId() {
    // Five attempts of five seconds each, then its backoffs: it may have happened, and has no
    // output, so its compensation can only name the order.
    kit.given(OrderFulfillmentSaga.definition())
        .step(RESERVE_INVENTORY)
        .answers(Answer.timeout())
        .when()
        .started("order-1", ORDER)
        .expect()
        .status(SagaStatus.COMPENSATED)
        .calls(
            "reserve-inventory",
            "reserve-inventory",
            "reserve-inventory",
            "reserve-inventory",
            "reserve-inventory",
            "undo reserve-inventory")
        .failureContains("step 'reserve-inventory' gave no answer after 5 attempts")
        .stepStatus(RESERVE_INVENTORY, StepStatus.COMPENSATED)
        .compensationCall(RESERVE_INVENTORY, 1)
        .hasParticipant("inventory")
        .hasPath("/reservations/order-1/release");
  }
}
