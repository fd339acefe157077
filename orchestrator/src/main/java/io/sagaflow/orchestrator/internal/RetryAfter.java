package io.sagaflow.orchestrator.internal;

import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Parses an HTTP {@code Retry-After} value (RFC 9110 §10.2.3) into how long to wait from now.
 *
 * <p>Accepts delta-seconds ({@code 120}) and an HTTP-date in any of the three forms a recipient
 * must accept (IMF-fixdate, RFC 850, asctime). Anything else, a negative delay, a date in the past
 * or a number too large for a {@link Duration} gives empty, so the caller falls back to its own
 * backoff. No upper bound is applied here: capping belongs to the retry policy.
 */
public final class RetryAfter {

  private static final DateTimeFormatter RFC_850 =
      new DateTimeFormatterBuilder()
          .parseCaseInsensitive()
          .appendPattern("EEEE, dd-MMM-")
          .appendValueReduced(ChronoField.YEAR, 2, 2, 1970)
          .appendPattern(" HH:mm:ss zzz")
          .toFormatter(Locale.US);

  private static final DateTimeFormatter ASCTIME =
      new DateTimeFormatterBuilder()
          .parseCaseInsensitive()
          .appendPattern("EEE MMM")
          .appendLiteral(' ')
          .optionalStart()
          .appendLiteral(' ')
          .optionalEnd()
          .appendPattern("d HH:mm:ss yyyy")
          .toFormatter(Locale.US)
          .withZone(java.time.ZoneOffset.UTC);

  private static final List<DateTimeFormatter> DATE_FORMATS =
      List.of(DateTimeFormatter.RFC_1123_DATE_TIME, RFC_850, ASCTIME);

  private RetryAfter() {}

  /** The delay {@code value} asks for, measured from {@code now}. */
  public static Optional<Duration> parse(String value, Instant now) {
    if (value == null) {
      return Optional.empty();
    }
    String trimmed = value.trim();
    if (trimmed.isEmpty()) {
      return Optional.empty();
    }
    if (trimmed.chars().allMatch(c -> c >= '0' && c <= '9')) {
      return seconds(trimmed);
    }
    for (DateTimeFormatter format : DATE_FORMATS) {
      try {
        Duration delay = Duration.between(now, ZonedDateTime.parse(trimmed, format).toInstant());
        return delay.isNegative() ? Optional.empty() : Optional.of(delay);
      } catch (DateTimeParseException e) {
        // try the next form
      }
    }
    return Optional.empty();
  }

  /** The delay {@code value} asks for, measured from the current time. */
  public static Optional<Duration> parse(String value) {
    return parse(value, Instant.now());
  }

  private static Optional<Duration> seconds(String digits) {
    try {
      return Optional.of(Duration.ofSeconds(Long.parseLong(digits)));
    } catch (NumberFormatException | ArithmeticException e) {
      return Optional.empty();
    }
  }
}
