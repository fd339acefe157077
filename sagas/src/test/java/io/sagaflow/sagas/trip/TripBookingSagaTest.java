package io.sagaflow.sagas.trip;

import static io.sagaflow.sagas.trip.TripBookingSaga.CHARGE_CARD;
import static io.sagaflow.sagas.trip.TripBookingSaga.RESERVE_FLIGHT;
import static io.sagaflow.sagas.trip.TripBookingSaga.RESERVE_HOTEL;
import static io.sagaflow.sagas.trip.TripBookingSaga.SEND_CONFIRMATION;
import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.StepStatus;
import io.sagaflow.testkit.Answer;
import io.sagaflow.testkit.RecordedCall;
import io.sagaflow.testkit.SagaTestKit;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.LocalDate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Trip booking against scripted flights, hotels, payments and notifications participants. */
class TripBookingSagaTest {
  private static final SagaTestKit kit = SagaTestKit.create();

  private static final TripInput TRIP =
      new TripInput(
          "trip-1",
          "Ada Lovelace",
          "London",
          "Lisbon",
          LocalDate.parse("2030-05-17"),
          3,
          new BigDecimal("820"),
          "EUR");

  @AfterAll
  static void close() {
    kit.close();
  }

  @Test
  void aTripIsReservedChargedAndConfirmedQuotingEveryReservation() {
    kit.given(TripBookingSaga.definition())
        .step(RESERVE_FLIGHT)
        .answers(Answer.ok("{\"reservationId\": \"fl-1\"}"))
        .step(RESERVE_HOTEL)
        .answers(Answer.ok("{\"reservationId\": \"ht-1\"}"))
        .step(CHARGE_CARD)
        .answers(Answer.ok("{\"chargeId\": \"ch-1\"}"))
        .when()
        .started("trip-1", TRIP)
        .expect()
        .status(SagaStatus.COMPLETED)
        .calls("reserve-flight", "reserve-hotel", "charge-card", "send-confirmation")
        .call(RESERVE_FLIGHT, 1)
        .hasIdempotencyKey("trip-1/reserve-flight")
        .hasParticipant("flights")
        .hasPath("/reservations")
        .hasBody(
            "{\"tripId\": \"trip-1\", \"traveler\": \"Ada Lovelace\", \"from\": \"London\","
                + " \"to\": \"Lisbon\", \"departOn\": \"2030-05-17\"}")
        .call(RESERVE_HOTEL, 1)
        .hasIdempotencyKey("trip-1/reserve-hotel")
        .hasParticipant("hotels")
        .hasBody(
            "{\"tripId\": \"trip-1\", \"guest\": \"Ada Lovelace\", \"city\": \"Lisbon\","
                + " \"checkIn\": \"2030-05-17\", \"nights\": 3}")
        .call(CHARGE_CARD, 1)
        .hasIdempotencyKey("trip-1/charge-card")
        .hasParticipant("payments")
        .hasPath("/charges")
        .hasBody("{\"reference\": \"trip-1\", \"amount\": 820, \"currency\": \"EUR\"}")
        .call(SEND_CONFIRMATION, 1)
        .hasIdempotencyKey("trip-1/send-confirmation")
        .hasParticipant("notifications")
        .hasPath("/messages")
        .hasBody(
            "{\"reference\": \"trip-1\", \"recipient\": \"Ada Lovelace\","
                + " \"template\": \"trip-confirmed\", \"data\": {\"flightReservationId\": \"fl-1\","
                + " \"hotelReservationId\": \"ht-1\", \"chargeId\": \"ch-1\"}}");
  }

  @Test
  void aDeclinedChargeCancelsTheHotelThenTheFlight() {
    kit.given(TripBookingSaga.definition())
        .step(CHARGE_CARD)
        .answers(Answer.status(402, "{\"title\": \"card declined\"}"))
        .when()
        .started("trip-1", TRIP)
        .expect()
        .status(SagaStatus.COMPENSATED)
        .calls(
            "reserve-flight",
            "reserve-hotel",
            "charge-card",
            "undo reserve-hotel",
            "undo reserve-flight")
        .failureContains("step 'charge-card' was rejected")
        .failureContains("card declined")
        .stepStatus(CHARGE_CARD, StepStatus.REJECTED)
        .compensationCall(RESERVE_HOTEL, 1)
        .hasIdempotencyKey("trip-1/reserve-hotel/compensation")
        .hasParticipant("hotels")
        .hasPath("/reservations/trip-1/cancel")
        .compensationCall(RESERVE_FLIGHT, 1)
        .hasIdempotencyKey("trip-1/reserve-flight/compensation")
        .hasParticipant("flights")
        .hasPath("/reservations/trip-1/cancel");
  }

  @Test
  void aChargeUnansweredAfterTwelveAttemptsLeavesTheTripFailedWithNothingCancelled() {
    var expect =
        kit.given(TripBookingSaga.definition())
            .step(CHARGE_CARD)
            .answers(Answer.status(503))
            .when()
            .started("trip-1", TRIP)
            .expect()
            .status(SagaStatus.FAILED)
            .failureContains("pivot step 'charge-card' gave no answer after 12 attempts")
            .stepStatus(CHARGE_CARD, StepStatus.UNCERTAIN)
            .stepStatus(RESERVE_HOTEL, StepStatus.SUCCEEDED);

    var charges =
        expect.recordedCalls().stream().filter(c -> c.step().equals(CHARGE_CARD.name())).toList();
    assertThat(charges).hasSize(12).allMatch(c -> c.idempotencyKey().equals("trip-1/charge-card"));
    assertThat(expect.recordedCalls()).noneMatch(RecordedCall::isCompensation);
    // Backoffs of up to 30 s between the attempts: minutes of the saga's time, none of the test's.
    assertThat(Duration.between(charges.get(0).at(), charges.get(11).at()))
        .isGreaterThan(Duration.ofMinutes(2));
  }

  @Test
  void aHotelReservationWhoseAnswerIsLostIsCancelledByTheTripIdWithTheFlightBesideIt() {
    kit.given(TripBookingSaga.definition())
        .step(RESERVE_FLIGHT)
        .answers(Answer.ok("{\"reservationId\": \"fl-1\"}"))
        .step(RESERVE_HOTEL)
        .answers(Answer.unreadable())
        .when()
        .started("trip-1", TRIP)
        .expect()
        .status(SagaStatus.COMPENSATED)
        // The two reservations are a parallel group: both are called, then both cancelled.
        .calls("reserve-flight", "reserve-hotel", "undo reserve-flight", "undo reserve-hotel")
        .stepStatus(RESERVE_HOTEL, StepStatus.COMPENSATED)
        .compensationCall(RESERVE_HOTEL, 1)
        .hasPath("/reservations/trip-1/cancel")
        .hasNoBody();
  }

  @Test
  void aRefusedFlightCancelsTheHotelReservedBesideItAndChargesNothing() {
    kit.given(TripBookingSaga.definition())
        .step(RESERVE_FLIGHT)
        .answers(Answer.status(422, "{\"title\": \"no such route\"}"))
        .when()
        .started("trip-1", TRIP)
        .expect()
        .status(SagaStatus.COMPENSATED)
        .calls("reserve-flight", "reserve-hotel", "undo reserve-hotel")
        .failureContains("step 'reserve-flight' was rejected")
        .stepStatus(RESERVE_FLIGHT, StepStatus.REJECTED)
        .stepStatus(RESERVE_HOTEL, StepStatus.COMPENSATED)
        .compensationCall(RESERVE_HOTEL, 1)
        .hasIdempotencyKey("trip-1/reserve-hotel/compensation");
  }

  @Test
  void theConfirmationIsRetriedUntilNotificationsAnswers() {
    kit.given(TripBookingSaga.definition())
        .step(SEND_CONFIRMATION)
        .answers(Answer.status(503).times(20), Answer.ok())
        .when()
        .started("trip-1", TRIP)
        .expect()
        .status(SagaStatus.COMPLETED)
        .call(SEND_CONFIRMATION, 21)
        .hasIdempotencyKey("trip-1/send-confirmation");
  }

  private static final TripInput LONG_TRIP =
      new TripInput(
          "trip-2",
          "Ada Lovelace",
          "London",
          "Lisbon",
          LocalDate.parse("2030-05-17"),
          21,
          new BigDecimal("960"),
          "EUR");

  @Test
  void aLongTripWaitsForAManagersApprovalThenIsCharged() {
    kit.given(TripBookingSaga.definition())
        .when()
        .started("trip-2", LONG_TRIP)
        .signalled(TripBookingSaga.APPROVAL_SIGNAL, new TripBookingSaga.Approval(true, "Grace"))
        .expect()
        .status(SagaStatus.COMPLETED)
        .calls("reserve-flight", "reserve-hotel", "charge-card", "send-confirmation")
        .stepStatus(TripBookingSaga.MANAGER_APPROVAL, StepStatus.SUCCEEDED);
  }

  @Test
  void aShortTripNeedsNoApproval() {
    kit.given(TripBookingSaga.definition())
        .when()
        .started("trip-1", TRIP)
        .expect()
        .status(SagaStatus.COMPLETED)
        .events(
            "SagaStarted",
            "BranchesStarted",
            "BranchSucceeded",
            "BranchSucceeded",
            "StepSucceeded",
            "StepSucceeded",
            "SagaCompleted");
  }

  @Test
  void aRefusedApprovalCancelsBothReservationsAndChargesNothing() {
    kit.given(TripBookingSaga.definition())
        .when()
        .started("trip-2", LONG_TRIP)
        .signalled(TripBookingSaga.APPROVAL_SIGNAL, new TripBookingSaga.Approval(false, "Grace"))
        .expect()
        .status(SagaStatus.COMPENSATED)
        .failureContains("not approved by Grace")
        // Undone together, newest first: the hotel's reservation answered last.
        .calls("reserve-flight", "reserve-hotel", "undo reserve-hotel", "undo reserve-flight")
        .stepStatus(TripBookingSaga.MANAGER_APPROVAL, StepStatus.REJECTED);
  }

  @Test
  void aLongTripWithNoAnswerWithinADayIsCancelled() {
    kit.given(TripBookingSaga.definition())
        .when()
        .started("trip-2", LONG_TRIP)
        .timePasses(Duration.ofHours(25))
        .expect()
        .status(SagaStatus.COMPENSATED)
        .failureContains("no signal 'approval' arrived within PT24H")
        .calls("reserve-flight", "reserve-hotel", "undo reserve-hotel", "undo reserve-flight");
  }
}
