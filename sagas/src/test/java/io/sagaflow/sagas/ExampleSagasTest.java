package io.sagaflow.sagas;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepKind;
import io.sagaflow.sagas.demo.DemoParticipants;
import io.sagaflow.sagas.order.OrderFulfillmentSaga;
import io.sagaflow.sagas.trip.TripBookingSaga;
import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The example sagas' shape and the inputs they accept. What they do with their participants'
 * answers is in {@code OrderFulfillmentSagaTest} and {@code TripBookingSagaTest}.
 */
class ExampleSagasTest {

  private static final SagaDefinition<?> ORDER = OrderFulfillmentSaga.definition();
  private static final SagaDefinition<?> TRIP = TripBookingSaga.definition();

  static ObjectNode order() {
    return JsonNodeFactory.instance
        .objectNode()
        .put("orderId", "order-1")
        .put("customerId", "cust-7")
        .put("sku", "SKU-42")
        .put("quantity", 2)
        .put("amount", new java.math.BigDecimal("49.90"))
        .put("currency", "EUR");
  }

  static ObjectNode trip() {
    return JsonNodeFactory.instance
        .objectNode()
        .put("tripId", "trip-1")
        .put("traveler", "Ada Lovelace")
        .put("from", "London")
        .put("to", "Lisbon")
        .put("departOn", "2030-05-17")
        .put("nights", 3)
        .put("amount", 820)
        .put("currency", "EUR");
  }

  @Test
  void registersEverySagaAtVersionOne() {
    assertThat(ExampleSagas.all())
        .extracting(SagaDefinition::name, SagaDefinition::version)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("order-fulfillment", 1),
            org.assertj.core.groups.Tuple.tuple("trip-booking", 1),
            org.assertj.core.groups.Tuple.tuple("team-offsite", 1));
  }

  @Test
  void orderFulfillmentUndoesEveryStepAndHasADeadline() {
    assertThat(ORDER.stepNames())
        .containsExactly("reserve-inventory", "authorize-payment", "create-shipment");
    assertThat(ORDER.steps())
        .allSatisfy(step -> assertThat(step.kind()).isEqualTo(StepKind.COMPENSATABLE));
    assertThat(participantsOf(ORDER)).containsExactly("inventory", "payments", "shipping");
    assertThat(ORDER.steps())
        .allSatisfy(
            step ->
                assertThat(((HttpCall) step.compensation().orElseThrow()).participant())
                    .isEqualTo(((HttpCall) step.action()).participant()));
    assertThat(ORDER.deadline()).contains(Duration.ofMinutes(5));
  }

  @Test
  void tripBookingChargesTheCardAsPivotAndRetriesTheConfirmationForever() {
    assertThat(TRIP.stepNames())
        .containsExactly(
            "reserve-flight",
            "reserve-hotel",
            "manager-approval",
            "charge-card",
            "send-confirmation");
    assertThat(TRIP.stages())
        .extracting(io.sagaflow.orchestrator.dsl.Stage::name)
        .containsExactly("reservations", "manager-approval", "charge-card", "send-confirmation");
    assertThat(TRIP.signals()).containsExactly(TripBookingSaga.APPROVAL_SIGNAL);
    assertThat(TRIP.step("manager-approval").timeout()).isEqualTo(TripBookingSaga.APPROVAL_TIMEOUT);
    assertThat(TRIP.stage("reservations").orElseThrow().group()).isTrue();
    assertThat(TRIP.steps())
        .extracting(Step::kind)
        .containsExactly(
            StepKind.COMPENSATABLE,
            StepKind.COMPENSATABLE,
            StepKind.COMPENSATABLE,
            StepKind.PIVOT,
            StepKind.RETRIABLE);
    assertThat(participantsOf(TRIP))
        .containsExactly("flights", "hotels", "payments", "notifications");
    assertThat(TRIP.steps())
        .extracting(Step::hasCompensation)
        .containsExactly(true, true, false, false, false);
    assertThat(TRIP.step(TripBookingSaga.SEND_CONFIRMATION.name()).retry().unlimited()).isTrue();
    assertThat(TRIP.step(TripBookingSaga.CHARGE_CARD.name()).retry().maxAttempts()).isEqualTo(12);
  }

  @Test
  void theSagasCallExactlyTheDemoParticipants() {
    assertThat(ExampleSagas.participants(ExampleSagas.all()))
        .containsExactlyInAnyOrderElementsOf(DemoParticipants.SERVICES);
  }

  @Test
  void acceptsValidInputsIncludingAmountsThePaymentsParticipantWillDecline() {
    assertThat(ORDER.validateInput(order())).isEmpty();
    assertThat(ORDER.validateInput(order().put("amount", 1500).put("sku", "OUT-OF-STOCK")))
        .isEmpty();
    assertThat(TRIP.validateInput(trip())).isEmpty();
    assertThat(
            TRIP.validateInput(
                trip().put("to", "NOWHERE").put("currency", "JPY").put("amount", 120000)))
        .isEmpty();
  }

  static Stream<Arguments> badOrders() {
    return Stream.of(
        bad("orderId is required", o -> o.remove("orderId")),
        bad("orderId must be 1-64 letters", o -> o.put("orderId", "order 1/2")),
        bad("customerId is required", o -> o.putNull("customerId")),
        bad("sku must be", o -> o.put("sku", "")),
        bad("quantity must be between 1 and 1000, was 0", o -> o.put("quantity", 0)),
        bad("quantity", o -> o.put("quantity", "many")),
        bad("amount must be positive", o -> o.put("amount", -5)),
        bad("amount is required", o -> o.remove("amount")),
        bad("amount must have at most 2 decimal places", o -> o.put("amount", 10.125)),
        bad("currency must be an ISO 4217 code", o -> o.put("currency", "eur")),
        bad("colour", o -> o.put("colour", "red")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badOrders")
  void rejectsABadOrderNamingTheField(String expected, Consumer<ObjectNode> change) {
    ObjectNode input = order();
    change.accept(input);
    assertThat(ORDER.validateInput(input))
        .hasValueSatisfying(m -> assertThat(m).contains(expected));
  }

  static Stream<Arguments> badTrips() {
    return Stream.of(
        bad("tripId is required", t -> t.remove("tripId")),
        bad("traveler must not be blank", t -> t.put("traveler", "  ")),
        bad("from is required", t -> t.remove("from")),
        bad("to must be at most 64 characters", t -> t.put("to", "x".repeat(65))),
        bad("to must differ from from", t -> t.put("to", "london")),
        bad("departOn is required", t -> t.remove("departOn")),
        bad("departOn", t -> t.put("departOn", "next tuesday")),
        bad("nights must be between 1 and 30", t -> t.put("nights", 0)),
        bad(
            "amount must have at most 0 decimal places in JPY",
            t -> t.put("currency", "JPY").put("amount", 10.5)),
        bad("currency is required", t -> t.remove("currency")));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badTrips")
  void rejectsABadTripNamingTheField(String expected, Consumer<ObjectNode> change) {
    ObjectNode input = trip();
    change.accept(input);
    assertThat(TRIP.validateInput(input)).hasValueSatisfying(m -> assertThat(m).contains(expected));
  }

  private static Arguments bad(String expected, Consumer<ObjectNode> change) {
    return Arguments.of(expected, change);
  }

  private static List<String> participantsOf(SagaDefinition<?> definition) {
    return definition.steps().stream()
        .filter(s -> s.action() instanceof HttpCall)
        .map(s -> ((HttpCall) s.action()).participant())
        .toList();
  }
}
