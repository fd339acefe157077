package io.sagaflow.sagas;

import java.math.BigDecimal;
import java.util.Currency;
import java.util.regex.Pattern;

/**
 * Field checks for saga input records, meant for their compact constructors. Each failure is an
 * {@link IllegalArgumentException} whose message names the field, which is what a bad start is
 * answered with.
 *
 * <p>Checks here must not depend on the clock or on other services: a saga binds its input again
 * for every step, possibly days later and after a restart, and must get the same answer.
 */
public final class InputRules {

  /** Ids end up in participant URLs, so they are restricted to characters that need no escaping. */
  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");

  private static final int ECHO_LIMIT = 40;

  private InputRules() {}

  /** A business id: 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit. */
  public static void requireId(String field, String value) {
    requirePresent(field, value);
    if (!ID.matcher(value).matches()) {
      throw new IllegalArgumentException(
          field
              + " must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit;"
              + " was "
              + echo(value));
    }
  }

  /** Free text that is not blank and at most {@code maxLength} characters long. */
  public static void requireText(String field, String value, int maxLength) {
    requirePresent(field, value);
    if (value.isBlank()) {
      throw new IllegalArgumentException(field + " must not be blank");
    }
    if (value.length() > maxLength) {
      throw new IllegalArgumentException(
          field + " must be at most " + maxLength + " characters, was " + value.length());
    }
  }

  /** An integer within {@code [min, max]}. */
  public static void requireBetween(String field, int value, int min, int max) {
    if (value < min || value > max) {
      throw new IllegalArgumentException(
          field + " must be between " + min + " and " + max + ", was " + value);
    }
  }

  /**
   * A positive {@code amount} in {@code currency}, an ISO 4217 code, with no more decimal places
   * than the currency has.
   */
  public static void requireMoney(BigDecimal amount, String currency) {
    requirePresent("amount", amount);
    if (amount.signum() <= 0) {
      throw new IllegalArgumentException("amount must be positive, was " + amount.toPlainString());
    }
    requirePresent("currency", currency);
    Currency unit;
    try {
      unit = Currency.getInstance(currency);
    } catch (IllegalArgumentException notACode) {
      // Not chained: validateInput reports the innermost cause, which must be this message.
      throw new IllegalArgumentException(
          "currency must be an ISO 4217 code such as EUR or USD, was " + echo(currency));
    }
    int digits = Math.max(0, unit.getDefaultFractionDigits());
    if (amount.stripTrailingZeros().scale() > digits) {
      throw new IllegalArgumentException(
          "amount must have at most "
              + digits
              + " decimal places in "
              + currency
              + ", was "
              + amount.toPlainString());
    }
  }

  /** Any value that must be given. */
  public static void requirePresent(String field, Object value) {
    if (value == null) {
      throw new IllegalArgumentException(field + " is required");
    }
  }

  private static String echo(String value) {
    String shown = value.length() <= ECHO_LIMIT ? value : value.substring(0, ECHO_LIMIT) + "…";
    return "'" + shown + "'";
  }
}
