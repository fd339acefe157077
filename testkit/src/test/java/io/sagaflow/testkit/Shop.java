package io.sagaflow.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.StepKey;
import io.sagaflow.orchestrator.dsl.StepRejectedException;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The saga the kit's own tests run: two steps that are undone, a local check, a pivot and a step
 * after it.
 */
final class Shop {

  record Order(String orderId, int quantity, BigDecimal amount) {}

  record Reservation(String reservationId) {}

  /** What the notification after the pivot says: the reservation, as far as it is known. */
  record Notice(String orderId, String reservation) {}

  static final StepKey<Reservation> RESERVE = StepKey.of("reserve", Reservation.class);
  static final StepKey<JsonNode> AUTHORIZE = StepKey.json("authorize");
  static final StepKey<JsonNode> CHECK = StepKey.json("check");
  static final StepKey<JsonNode> CHARGE = StepKey.json("charge");
  static final StepKey<JsonNode> NOTIFY = StepKey.json("notify");

  static final Order ORDER = new Order("o-1", 2, new BigDecimal("90.00"));

  private Shop() {}

  /** The shop, its local check passing every order that {@code passes}. */
  static SagaDefinition<Order> definition(Predicate<Order> passes) {
    return SagaDefinition.builder("shop", Order.class)
        .deadline(Duration.ofMinutes(10))
        .defaultTimeout(Duration.ofSeconds(5))
        .defaultRetry(
            r ->
                r.maxAttempts(4)
                    .minBackoff(Duration.ofSeconds(1))
                    .maxBackoff(Duration.ofSeconds(10)))
        .compensationRetry(r -> r.maxAttempts(3))
        .step(
            RESERVE,
            step ->
                step.invoke(
                        HttpCall.post(
                            "inventory",
                            "/reservations",
                            ctx ->
                                Map.of(
                                    "orderId", ctx.input().orderId(),
                                    "quantity", ctx.input().quantity())))
                    .compensateWith(
                        HttpCall.post(
                            "inventory",
                            ctx -> "/reservations/" + ctx.input().orderId() + "/release")))
        .step(
            AUTHORIZE,
            step ->
                step.invoke(
                        HttpCall.post(
                            "payments",
                            "/authorizations",
                            ctx ->
                                Map.of(
                                    "reference", ctx.input().orderId(),
                                    "amount", ctx.input().amount())))
                    .compensateWith(
                        HttpCall.post(
                            "payments",
                            ctx -> "/authorizations/" + ctx.input().orderId() + "/void")))
        .step(
            CHECK,
            step ->
                step.invoke(
                        LocalCall.of(
                            ctx -> {
                              if (!passes.test(ctx.input())) {
                                throw new StepRejectedException("order refused by the check");
                              }
                              return Map.of("checked", true);
                            }))
                    .noCompensation())
        .step(
            CHARGE,
            step ->
                step.invoke(
                        HttpCall.post(
                            "payments",
                            ctx -> "/authorizations/" + ctx.input().orderId() + "/capture"))
                    .pivot()
                    .retry(r -> r.maxAttempts(3)))
        .step(
            NOTIFY,
            step ->
                step.invoke(
                        HttpCall.post(
                            "notifications",
                            "/messages",
                            ctx ->
                                new Notice(
                                    ctx.input().orderId(), ctx.output(RESERVE).reservationId())))
                    .retriable())
        .build();
  }

  static SagaDefinition<Order> definition() {
    return definition(order -> true);
  }
}
