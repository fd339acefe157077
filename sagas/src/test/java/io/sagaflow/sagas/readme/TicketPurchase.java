package io.sagaflow.sagas.readme;

// snippet: imports
import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.StepKey;
import io.sagaflow.orchestrator.dsl.StepRejectedException;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.Map;

// end snippet

/** README's "Defining a saga" example; {@code ReadmeSnippetsTest} keeps the two the same. */
public final class TicketPurchase {

  private TicketPurchase() {}

  // snippet: types
  /** What every start must bind to: checked once, at start (a 422 names the field). */
  public record Purchase(String purchaseId, String eventId, int seats, BigDecimal amount) {
    public Purchase {
      if (seats < 1 || seats > 10) {
        throw new IllegalArgumentException("seats must be between 1 and 10");
      }
    }
  }

  /** What two of the steps answer, read back by later steps through their keys. */
  public record SeatHold(String holdId) {}

  public record Payment(String chargeId) {}

  public static final StepKey<SeatHold> HOLD_SEATS = StepKey.of("hold-seats", SeatHold.class);
  public static final StepKey<JsonNode> SCREEN_BUYER = StepKey.json("screen-buyer");
  public static final StepKey<Payment> CHARGE_CARD = StepKey.of("charge-card", Payment.class);
  public static final StepKey<JsonNode> ISSUE_TICKETS = StepKey.json("issue-tickets");

  /** Your own code, called by a local step: it may block (local steps run on their own pool). */
  public interface FraudRules {
    boolean blocks(String purchaseId, BigDecimal amount);
  }

  // end snippet

  // snippet: definition
  public static SagaDefinition<Purchase> definition(FraudRules fraud) {
    return SagaDefinition.builder("ticket-purchase", Purchase.class)
        .deadline(Duration.ofMinutes(10)) // not yet charged by then: undo what was done
        .defaultRetry(r -> r.maxAttempts(5).maxBackoff(Duration.ofSeconds(5)))
        .step(
            HOLD_SEATS,
            step ->
                step.invoke(
                        HttpCall.post(
                            "venues",
                            "/holds",
                            ctx ->
                                Map.of(
                                    "reference", ctx.input().purchaseId(),
                                    "eventId", ctx.input().eventId(),
                                    "seats", ctx.input().seats())))
                    // Runs for an uncertain hold too (no answer, no holdId): address it by input.
                    .compensateWith(
                        HttpCall.post(
                            "venues", ctx -> "/holds/by-reference/" + ctx.input().purchaseId())))
        .step(
            SCREEN_BUYER,
            step ->
                step.invoke(
                        LocalCall.of(
                            ctx -> {
                              if (fraud.blocks(ctx.input().purchaseId(), ctx.input().amount())) {
                                throw new StepRejectedException("blocked by the fraud rules");
                              }
                              return Map.of("screened", true);
                            }))
                    .noCompensation() // a check: it changes nothing, so nothing is undone
                    .timeout(Duration.ofSeconds(2)))
        .step(
            CHARGE_CARD,
            step ->
                step.invoke(
                        HttpCall.post(
                            "payments",
                            "/charges",
                            ctx ->
                                Map.of(
                                    "reference", ctx.input().purchaseId(),
                                    "amount", ctx.input().amount())))
                    .pivot() // the point of no return: from here on the saga completes
                    .retry(r -> r.maxAttempts(12).maxBackoff(Duration.ofSeconds(30))))
        .step(
            ISSUE_TICKETS,
            step ->
                step.invoke(
                        HttpCall.post(
                            "venues",
                            ctx -> "/holds/" + ctx.output(HOLD_SEATS).holdId() + "/issue",
                            ctx -> Map.of("chargeId", ctx.output(CHARGE_CARD).chargeId())))
                    .retriable()) // after the pivot: retried, never compensated
        .build();
  }
  // end snippet
}
