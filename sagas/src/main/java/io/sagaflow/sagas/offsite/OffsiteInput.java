package io.sagaflow.sagas.offsite;

import static io.sagaflow.sagas.InputRules.requireBetween;
import static io.sagaflow.sagas.InputRules.requireId;
import static io.sagaflow.sagas.InputRules.requireMoney;
import static io.sagaflow.sagas.InputRules.requirePresent;
import static io.sagaflow.sagas.InputRules.requireText;

import java.math.BigDecimal;
import java.time.LocalDate;
import java.util.HashSet;
import java.util.List;

/**
 * Input of {@link TeamOffsiteSaga}: a room for each guest in {@code city} for {@code nights} from
 * {@code checkIn}, paid with one charge.
 *
 * @param offsiteId the offsite; with a guest's id it names that guest's room at the hotels
 * @param guests who comes; each guest's id is the key of their room and their invitation
 */
public record OffsiteInput(
    String offsiteId,
    String city,
    LocalDate checkIn,
    int nights,
    List<Guest> guests,
    BigDecimal amount,
    String currency) {

  public static final int MAX_NIGHTS = 30;
  public static final int MAX_GUESTS = 50;

  /** One guest: {@code id} keys their room and invitation, {@code name} is on both. */
  public record Guest(String id, String name) {
    public Guest {
      requireId("guests[].id", id);
      requireText("guests[].name", name, 100);
    }
  }

  /** Rejects a bad offsite before the saga starts, naming the field. */
  public OffsiteInput {
    requireId("offsiteId", offsiteId);
    requireText("city", city, 64);
    requirePresent("checkIn", checkIn);
    requireBetween("nights", nights, 1, MAX_NIGHTS);
    requirePresent("guests", guests);
    requireBetween("guests (how many)", guests.size(), 1, MAX_GUESTS);
    var ids = new HashSet<String>();
    for (Guest guest : guests) {
      requirePresent("guests[]", guest);
      if (!ids.add(guest.id())) {
        throw new IllegalArgumentException("guests has the id '" + guest.id() + "' twice");
      }
    }
    guests = List.copyOf(guests);
    requireMoney(amount, currency);
  }
}
