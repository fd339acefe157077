package io.sagaflow.sagas.trip;

import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepContext;
import java.math.BigDecimal;
import java.time.Duration;

/**
 * Trip booking: reserve a flight and a hotel, then charge the card. The charge is the pivot: a
 * declined charge cancels the reservations; one still unanswered after its attempts may have gone
 * through, so the trip is left FAILED for an operator instead. Once the charge has succeeded the
 * trip is booked and the confirmation is retried until it goes out.
 *
 * <p>Cancellations are addressed by the trip id from the input, never by a step's output, because a
 * reservation whose outcome is uncertain has no output yet may exist.
 */
public final class TripBookingSaga {

  public static final String NAME = "trip-booking";
  public static final int VERSION = 1;

  public static final String RESERVE_FLIGHT = "reserve-flight";
  public static final String RESERVE_HOTEL = "reserve-hotel";
  public static final String CHARGE_CARD = "charge-card";
  public static final String SEND_CONFIRMATION = "send-confirmation";

  public static final String FLIGHTS = "flights";
  public static final String HOTELS = "hotels";
  public static final String PAYMENTS = "payments";
  public static final String NOTIFICATIONS = "notifications";

  public static final String CONFIRMATION_TEMPLATE = "trip-confirmed";

  private TripBookingSaga() {}

  public static SagaDefinition definition() {
    return SagaDefinition.builder(NAME)
        .version(VERSION)
        .inputType(TripInput.class)
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
        .step(
            Step.named(RESERVE_FLIGHT)
                .invoke(
                    HttpCall.post(FLIGHTS, "/reservations")
                        .withBody(ctx -> ReserveFlight.of(trip(ctx))))
                .compensateWith(
                    HttpCall.post(
                        FLIGHTS, ctx -> "/reservations/" + trip(ctx).tripId() + "/cancel")))
        .step(
            Step.named(RESERVE_HOTEL)
                .invoke(
                    HttpCall.post(HOTELS, "/reservations")
                        .withBody(ctx -> ReserveHotel.of(trip(ctx))))
                .compensateWith(
                    HttpCall.post(
                        HOTELS, ctx -> "/reservations/" + trip(ctx).tripId() + "/cancel")))
        .step(
            Step.named(CHARGE_CARD)
                .invoke(HttpCall.post(PAYMENTS, "/charges").withBody(ctx -> Charge.of(trip(ctx))))
                .pivot()
                // A charge that gave no answer may have gone through, and a pivot cannot be
                // undone: keep asking (the participant dedupes) for several minutes before giving
                // up, so the outcome is nearly always known.
                .retry(
                    retry ->
                        retry
                            .maxAttempts(12)
                            .minBackoff(Duration.ofSeconds(1))
                            .maxBackoff(Duration.ofSeconds(30)))
                .timeout(Duration.ofSeconds(10)))
        .step(
            Step.named(SEND_CONFIRMATION)
                .invoke(
                    HttpCall.post(NOTIFICATIONS, "/messages")
                        .withBody(ctx -> Confirmation.of(trip(ctx), ctx)))
                .retriable()
                // Retried until it succeeds; back off to once a minute while notifications is down.
                .retry(
                    retry ->
                        retry.minBackoff(Duration.ofSeconds(1)).maxBackoff(Duration.ofMinutes(1))))
        .build();
  }

  private static TripInput trip(StepContext ctx) {
    return ctx.input(TripInput.class);
  }

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
    static Confirmation of(TripInput trip, StepContext ctx) {
      return new Confirmation(
          trip.tripId(),
          trip.traveler(),
          CONFIRMATION_TEMPLATE,
          new Details(
              ctx.output(RESERVE_FLIGHT).path("reservationId").asText(),
              ctx.output(RESERVE_HOTEL).path("reservationId").asText(),
              ctx.output(CHARGE_CARD).path("chargeId").asText()));
    }
  }

  /** What the confirmation quotes. */
  record Details(String flightReservationId, String hotelReservationId, String chargeId) {}
}
