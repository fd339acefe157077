package io.sagaflow.sagas.offsite;

import static io.sagaflow.sagas.offsite.TeamOffsiteSaga.CHARGE_CARD;
import static io.sagaflow.sagas.offsite.TeamOffsiteSaga.RESERVE_ROOMS;
import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.StepStatus;
import io.sagaflow.sagas.offsite.OffsiteInput.Guest;
import io.sagaflow.testkit.Answer;
import io.sagaflow.testkit.RecordedCall;
import io.sagaflow.testkit.SagaTestKit;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The team offsite's two fan-outs against scripted hotels, payments and notifications. */
class TeamOffsiteSagaTest {
  private static final SagaTestKit kit = SagaTestKit.create();

  private static final OffsiteInput OFFSITE =
      new OffsiteInput(
          "off-1",
          "Porto",
          LocalDate.parse("2030-09-14"),
          2,
          List.of(new Guest("ada", "Ada Lovelace"), new Guest("alan", "Alan Turing")),
          new BigDecimal("960"),
          "EUR");

  @AfterAll
  static void close() {
    kit.close();
  }

  @Test
  void everyGuestGetsARoomUnderTheirOwnKeyThenOneChargeThenAnInvitationQuotingTheirRoom() {
    var expect =
        kit.given(TeamOffsiteSaga.definition())
            .step(RESERVE_ROOMS)
            .answers(Answer.ok("{\"reservationId\": \"ht-9\"}"))
            .step(CHARGE_CARD)
            .answers(Answer.ok("{\"chargeId\": \"ch-1\"}"))
            .when()
            .started("off-1", OFFSITE)
            .expect()
            .status(SagaStatus.COMPLETED);

    var calls = expect.recordedCalls();
    assertThat(calls)
        .extracting(RecordedCall::step)
        .containsExactly(
            "reserve-rooms/ada",
            "reserve-rooms/alan",
            "charge-card",
            "invite-guests/ada",
            "invite-guests/alan");
    assertThat(calls.get(1).idempotencyKey()).isEqualTo("off-1/reserve-rooms/alan");
    assertThat(calls.get(1).body().get("tripId").asText()).isEqualTo("off-1-alan");
    assertThat(calls.get(1).body().get("guest").asText()).isEqualTo("Alan Turing");
    assertThat(calls.get(4).body().get("data").get("roomReservationId").asText()).isEqualTo("ht-9");
    assertThat(calls.get(4).body().get("reference").asText()).isEqualTo("off-1-alan");
  }

  @Test
  void roomsWhoseAnswersAreLostAreAllCancelledAndNothingIsCharged() {
    var expect =
        kit.given(TeamOffsiteSaga.definition())
            .step(RESERVE_ROOMS)
            .answers(Answer.unreadable())
            .when()
            .started("off-1", OFFSITE)
            .expect()
            .status(SagaStatus.COMPENSATED)
            .failureContains("step 'reserve-rooms/ada' answered 200 but its body could not be read")
            .stepStatus(RESERVE_ROOMS, StepStatus.COMPENSATED);

    assertThat(expect.recordedCalls())
        .filteredOn(RecordedCall::isCompensation)
        .extracting(RecordedCall::path)
        .containsExactlyInAnyOrder(
            "/reservations/off-1-ada/cancel", "/reservations/off-1-alan/cancel");
    assertThat(expect.recordedCalls()).noneMatch(c -> c.step().equals("charge-card"));
  }
}
