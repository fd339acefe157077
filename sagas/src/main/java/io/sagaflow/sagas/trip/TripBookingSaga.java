package io.sagaflow.sagas.trip;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.dsl.AwaitSignal;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.StepContext;
import io.sagaflow.orchestrator.dsl.StepKey;
import java.math.BigDecimal;
import java.time.Duration;

/**
 * Trip booking: reserve a flight and a hotel (in parallel), then, for a trip of more than {@value
 * #APPROVAL_OVER_NIGHTS} nights, wait for a manager's approval (a signal), then charge the card.
 * The charge is the pivot: a declined charge cancels the reservations; one still unanswered after
 * its attempts may have gone through, so the trip is left FAILED for an operator instead. Once the
 * charge has succeeded the trip is booked and the confirmation is retried until it goes out.
 *
 * <p>Cancellations are addressed by the trip id from the input, never by a step's output, because a
 * reservation whose outcome is uncertain has no output yet may exist.
 */
public final class TripBookingSaga {

  public static final String NAME = "trip-booking";
  public static final int VERSION = 1;

  /** The parallel group of the two reservations. */
  public static final String RESERVATIONS = "reservations";

  public static final StepKey<Reservation> RESERVE_FLIGHT =
      StepKey.of("reserve-flight", Reservation.class);
  public static final StepKey<Reservation> RESERVE_HOTEL =
      StepKey.of("reserve-hotel", Reservation.class);
  public static final StepKey<Approval> MANAGER_APPROVAL =
      StepKey.of("manager-approval", Approval.class);
  public static final StepKey<ChargeMade> CHARGE_CARD = StepKey.of("charge-card", ChargeMade.class);

  /** The signal a manager sends to approve (or refuse) a long trip. */
  public static final String APPROVAL_SIGNAL = "approval";

  /** Trips of more nights than this wait for a manager's approval before the card is charged. */
  public static final int APPROVAL_OVER_NIGHTS = 14;

  /** How long a trip waits for its approval before it is cancelled. */
  public static final Duration APPROVAL_TIMEOUT = Duration.ofHours(24);

  public static final StepKey<JsonNode> SEND_CONFIRMATION = StepKey.json("send-confirmation");

  public static final String FLIGHTS = "flights";
  public static final String HOTELS = "hotels";
  public static final String PAYMENTS = "payments";
  public static final String NOTIFICATIONS = "notifications";

  public static final String CONFIRMATION_TEMPLATE = "trip-confirmed";

  private TripBookingSaga() {}

  public static SagaDefinition<TripInput> definition() {
    return SagaDefinition.builder(NAME, TripInput.class)
        .version(VERSION)
        .defaultTimeout(Duration.ofSeconds(5))
        .defaultRetry(
            retry ->
                retry
                    .maxAttempts(5)
                    .minBackoff(Duration.ofMillis(500))
                    .maxBackoff(Duration.ofSeconds(10)))
        .compensationRetry(
            retry ->
                retry
                    .maxAttempts(30)
                    .minBackoff(Duration.ofSeconds(1))
                    .maxBackoff(Duration.ofMinutes(1)))
        // The flight and the hotel do not depend on each other: both are reserved at once. If
        // one is refused, the other is cancelled (once its call has answered), and the trip is
        // cancelled as a whole.
        .group(
            RESERVATIONS,
            group ->
                group
                    .step(
                        RESERVE_FLIGHT,
                        step ->
                            step.invoke(
                                    HttpCall.post(
                                        FLIGHTS,
                                        "/reservations",
                                        ctx -> ReserveFlight.of(ctx.input())))
                                .compensateWith(
                                    HttpCall.post(
                                        FLIGHTS,
                                        ctx ->
                                            "/reservations/" + ctx.input().tripId() + "/cancel")))
                    .step(
                        RESERVE_HOTEL,
                        step ->
                            step.invoke(
                                    HttpCall.post(
                                        HOTELS,
                                        "/reservations",
                                        ctx -> ReserveHotel.of(ctx.input())))
                                .compensateWith(
                                    HttpCall.post(
                                        HOTELS,
                                        ctx ->
                                            "/reservations/" + ctx.input().tripId() + "/cancel"))))
        // A long trip needs a manager's yes before the card is charged: it waits (at most a day)
        // for the signal "approval"; a no, or no answer in time, cancels the reservations.
        .step(
            MANAGER_APPROVAL,
            step ->
                step.awaitSignal(
                        AwaitSignal.<TripInput>named(APPROVAL_SIGNAL)
                            .onlyIf(ctx -> ctx.input().nights() > APPROVAL_OVER_NIGHTS)
                            .rejectIf(
                                Approval.class,
                                approval -> !approval.approved(),
                                approval -> "not approved by " + approval.by()))
                    .timeout(APPROVAL_TIMEOUT))
        .step(
            CHARGE_CARD,
            step ->
                step.invoke(HttpCall.post(PAYMENTS, "/charges", ctx -> Charge.of(ctx.input())))
                    .pivot()
                    // A charge that gave no answer may have gone through, and a pivot cannot be
                    // undone: keep asking (the participant dedupes) for several minutes before
                    // giving up, so the outcome is nearly always known.
                    .retry(
                        retry ->
                            retry
                                .maxAttempts(12)
                                .minBackoff(Duration.ofSeconds(1))
                                .maxBackoff(Duration.ofSeconds(30)))
                    .timeout(Duration.ofSeconds(10)))
        .step(
            SEND_CONFIRMATION,
            step ->
                step.invoke(HttpCall.post(NOTIFICATIONS, "/messages", Confirmation::of))
                    .retriable()
                    // Retried until it succeeds; back off to once a minute while notifications is
                    // down.
                    .retry(
                        retry ->
                            retry
                                .minBackoff(Duration.ofSeconds(1))
                                .maxBackoff(Duration.ofMinutes(1))))
        .build();
  }

  /** What flights and hotels answer a reservation with (other fields are ignored). */
  public record Reservation(String reservationId) {}

  /** A manager's answer to a long trip: the payload of the signal {@value #APPROVAL_SIGNAL}. */
  public record Approval(boolean approved, String by) {}

  /** What payments answers a charge with. */
  public record ChargeMade(String chargeId) {}

  /** Body of {@code POST flights/reservations}. */
  record ReserveFlight(String tripId, String traveler, String from, String to, String departOn) {
    static ReserveFlight of(TripInput trip) {
      return new ReserveFlight(
          trip.tripId(), trip.traveler(), trip.from(), trip.to(), trip.departOn().toString());
    }
  }

  /** Body of {@code POST hotels/reservations}: the hotel is in the flight's destination. */
  record ReserveHotel(String tripId, String guest, String city, String checkIn, int nights) {
    static ReserveHotel of(TripInput trip) {
      return new ReserveHotel(
          trip.tripId(), trip.traveler(), trip.to(), trip.departOn().toString(), trip.nights());
    }
  }

  /** Body of {@code POST payments/charges}. */
  record Charge(String reference, BigDecimal amount, String currency) {
    static Charge of(TripInput trip) {
      return new Charge(trip.tripId(), trip.amount(), trip.currency());
    }
  }

  /**
   * Body of {@code POST notifications/messages}. After the pivot every earlier step has succeeded,
   * so their outputs are there to quote.
   */
  record Confirmation(String reference, String recipient, String template, Details data) {
    static Confirmation of(StepContext<TripInput> ctx) {
      TripInput trip = ctx.input();
      return new Confirmation(
          trip.tripId(),
          trip.traveler(),
          CONFIRMATION_TEMPLATE,
          new Details(
              ctx.output(RESERVE_FLIGHT).reservationId(),
              ctx.output(RESERVE_HOTEL).reservationId(),
              ctx.output(CHARGE_CARD).chargeId()));
    }
  }

  /** What the confirmation quotes. */
  record Details(String flightReservationId, String hotelReservationId, String chargeId) {}
}
