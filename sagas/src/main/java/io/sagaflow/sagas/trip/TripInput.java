package io.sagaflow.sagas.trip;

import static io.sagaflow.sagas.InputRules.requireBetween;
import static io.sagaflow.sagas.InputRules.requireId;
import static io.sagaflow.sagas.InputRules.requireMoney;
import static io.sagaflow.sagas.InputRules.requirePresent;
import static io.sagaflow.sagas.InputRules.requireText;

import java.math.BigDecimal;
import java.time.LocalDate;

/**
 * Input of {@link TripBookingSaga}: a flight from {@code from} to {@code to} on {@code departOn},
 * {@code nights} in a hotel there, paid with one card charge.
 *
 * <p>{@code departOn} is deliberately not checked against today: the saga binds its input again on
 * every step, and a retry after midnight must not turn a valid trip into an invalid one.
 *
 * @param tripId the trip; names the reservations and the charge at the participants, so their
 *     compensations can be addressed without any step's output
 * @param traveler the traveler's name, also the confirmation's recipient
 */
public record TripInput(
    String tripId,
    String traveler,
    String from,
    String to,
    LocalDate departOn,
    int nights,
    BigDecimal amount,
    String currency) {

  public static final int MAX_NIGHTS = 30;
  public static final int MAX_PLACE_LENGTH = 64;
  public static final int MAX_NAME_LENGTH = 100;

  /** Rejects a bad trip before the saga starts, naming the field. */
  public TripInput {
    requireId("tripId", tripId);
    requireText("traveler", traveler, MAX_NAME_LENGTH);
    requireText("from", from, MAX_PLACE_LENGTH);
    requireText("to", to, MAX_PLACE_LENGTH);
    if (from.strip().equalsIgnoreCase(to.strip())) {
      throw new IllegalArgumentException("to must differ from from, both were '" + to + "'");
    }
    requirePresent("departOn", departOn);
    requireBetween("nights", nights, 1, MAX_NIGHTS);
    requireMoney(amount, currency);
  }
}
