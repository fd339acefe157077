package io.sagaflow.sagas.readme;

import static io.sagaflow.sagas.readme.TicketPurchase.CHARGE_CARD;
import static io.sagaflow.sagas.readme.TicketPurchase.HOLD_SEATS;
import static io.sagaflow.sagas.readme.TicketPurchase.ISSUE_TICKETS;

import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.sagas.readme.TicketPurchase.Purchase;
import io.sagaflow.testkit.Answer;
import io.sagaflow.testkit.SagaTestKit;
import java.math.BigDecimal;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** README's "Testing a saga" example. */
class TicketPurchaseTest {

  @AfterAll
  static void close() {
    kit.close();
  }

  // snippet: test
  static final SagaTestKit kit = SagaTestKit.create(); // close() it after the tests
  final Purchase purchase = new Purchase("p-1", "e-9", 2, new BigDecimal("90.00"));

  @Test
  void aDeclinedChargeReleasesTheHold() {
    kit.given(TicketPurchase.definition((id, amount) -> false))
        .step(HOLD_SEATS)
        .answers(Answer.status(503), Answer.ok("{\"holdId\": \"h-1\"}")) // retried at once
        .step(CHARGE_CARD)
        .answers(Answer.status(402))
        .when()
        .started("p-1", purchase)
        .expect()
        .status(SagaStatus.COMPENSATED)
        .calls("hold-seats", "hold-seats", "screen-buyer", "charge-card", "undo hold-seats")
        .compensationCall(HOLD_SEATS, 1)
        .hasPath("/holds/by-reference/p-1");
  }

  @Test
  void aPaidPurchaseIssuesTheHeldSeats() {
    kit.given(TicketPurchase.definition((id, amount) -> false))
        .step(HOLD_SEATS)
        .answers(Answer.ok("{\"holdId\": \"h-1\"}"))
        .step(CHARGE_CARD)
        .answers(Answer.ok("{\"chargeId\": \"c-1\"}"))
        .when()
        .started("p-1", purchase)
        .expect()
        .status(SagaStatus.COMPLETED)
        .call(ISSUE_TICKETS, 1)
        .hasPath("/holds/h-1/issue")
        .hasBody("{\"chargeId\": \"c-1\"}");
  }
  // end snippet
}
