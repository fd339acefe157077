package io.sagaflow.sagas.offsite;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.StepContext;
import io.sagaflow.orchestrator.dsl.StepKey;
import io.sagaflow.sagas.offsite.OffsiteInput.Guest;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.List;

/**
 * A team offsite: a fan-out reserves a hotel room for every guest (four at a time), then the card
 * is charged once (the pivot), then a second fan-out invites every guest. A room refused for one
 * guest reserves no further room and cancels those reserved, so the offsite is booked for all or
 * for none.
 *
 * <p>Each guest's room is its own branch, {@code reserve-rooms/{guest id}}, with the idempotency
 * key {@code {sagaId}/reserve-rooms/{guest id}}; at the hotels it is the trip {@code
 * {offsiteId}-{guest id}}, which its cancellation addresses.
 */
public final class TeamOffsiteSaga {

  public static final String NAME = "team-offsite";
  public static final int VERSION = 1;

  public static final StepKey<List<Room>> RESERVE_ROOMS =
      StepKey.of("reserve-rooms", new TypeReference<List<Room>>() {});
  public static final StepKey<ChargeMade> CHARGE_CARD = StepKey.of("charge-card", ChargeMade.class);
  public static final StepKey<JsonNode> INVITE_GUESTS = StepKey.json("invite-guests");

  public static final String HOTELS = "hotels";
  public static final String PAYMENTS = "payments";
  public static final String NOTIFICATIONS = "notifications";

  public static final String INVITATION_TEMPLATE = "offsite-invitation";

  private TeamOffsiteSaga() {}

  public static SagaDefinition<OffsiteInput> definition() {
    return SagaDefinition.builder(NAME, OffsiteInput.class)
        .version(VERSION)
        .defaultTimeout(Duration.ofSeconds(5))
        .defaultRetry(
            retry ->
                retry
                    .maxAttempts(5)
                    .minBackoff(Duration.ofMillis(500))
                    .maxBackoff(Duration.ofSeconds(10)))
        .step(
            RESERVE_ROOMS,
            step ->
                step.forEach(ctx -> ctx.input().guests(), Guest::id)
                    .maxConcurrency(4)
                    .maxElements(OffsiteInput.MAX_GUESTS)
                    .invoke(HttpCall.post(HOTELS, "/reservations", ReserveRoom::of))
                    .compensateWith(
                        HttpCall.post(
                            HOTELS,
                            ctx -> "/reservations/" + roomTrip(ctx, ctx.elementKey()) + "/cancel")))
        .step(
            CHARGE_CARD,
            step ->
                step.invoke(HttpCall.post(PAYMENTS, "/charges", ctx -> Charge.of(ctx.input())))
                    .pivot()
                    .retry(
                        retry ->
                            retry
                                .maxAttempts(12)
                                .minBackoff(Duration.ofSeconds(1))
                                .maxBackoff(Duration.ofSeconds(30)))
                    .timeout(Duration.ofSeconds(10)))
        .step(
            INVITE_GUESTS,
            step ->
                step.forEach(ctx -> ctx.input().guests(), Guest::id)
                    .maxConcurrency(4)
                    .maxElements(OffsiteInput.MAX_GUESTS)
                    .invoke(HttpCall.post(NOTIFICATIONS, "/messages", Invitation::of))
                    .retriable())
        .build();
  }

  /** What the hotels call the room of guest {@code guestId}: a trip of its own. */
  static String roomTrip(StepContext<OffsiteInput> ctx, String guestId) {
    return ctx.input().offsiteId() + "-" + guestId;
  }

  /** What hotels answers a reservation with (other fields are ignored). */
  public record Room(String reservationId) {}

  /** What payments answers a charge with. */
  public record ChargeMade(String chargeId) {}

  /** Body of {@code POST hotels/reservations} for one guest. */
  record ReserveRoom(String tripId, String guest, String city, String checkIn, int nights) {
    static ReserveRoom of(StepContext<OffsiteInput> ctx) {
      Guest guest = ctx.element();
      OffsiteInput offsite = ctx.input();
      return new ReserveRoom(
          roomTrip(ctx, guest.id()),
          guest.name(),
          offsite.city(),
          offsite.checkIn().toString(),
          offsite.nights());
    }
  }

  /** Body of {@code POST payments/charges}. */
  record Charge(String reference, BigDecimal amount, String currency) {
    static Charge of(OffsiteInput offsite) {
      return new Charge(offsite.offsiteId(), offsite.amount(), offsite.currency());
    }
  }

  /**
   * Body of {@code POST notifications/messages} for one guest, quoting their room: after the pivot
   * every room was reserved, and the rooms' outputs are in the guests' order.
   */
  record Invitation(String reference, String recipient, String template, Details data) {
    static Invitation of(StepContext<OffsiteInput> ctx) {
      Guest guest = ctx.element();
      List<Guest> guests = ctx.input().guests();
      Room room = ctx.output(RESERVE_ROOMS).get(guests.indexOf(guest));
      return new Invitation(
          roomTrip(ctx, guest.id()),
          guest.name(),
          INVITATION_TEMPLATE,
          new Details(
              ctx.input().city(), room.reservationId(), ctx.output(CHARGE_CARD).chargeId()));
    }
  }

  /** What an invitation quotes. */
  record Details(String city, String roomReservationId, String chargeId) {}
}
