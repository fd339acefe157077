package io.sagaflow.orchestrator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class RetryAfterTest {

  // RFC 9110's example date, 30 seconds after this instant.
  private static final Instant NOW = Instant.parse("1994-11-06T08:49:07Z");

  @Test
  void deltaSecondsIsThatManySeconds() {
    assertThat(RetryAfter.parse("3", NOW)).contains(Duration.ofSeconds(3));
    assertThat(RetryAfter.parse(" 120 ", NOW)).contains(Duration.ofMinutes(2));
  }

  @Test
  void zeroMeansRetryNow() {
    assertThat(RetryAfter.parse("0", NOW)).contains(Duration.ZERO);
  }

  @Test
  void imfFixdateIsTheTimeUntilThatDate() {
    assertThat(RetryAfter.parse("Sun, 06 Nov 1994 08:49:37 GMT", NOW))
        .contains(Duration.ofSeconds(30));
  }

  @Test
  void obsoleteRfc850DateIsAccepted() {
    assertThat(RetryAfter.parse("Sunday, 06-Nov-94 08:49:37 GMT", NOW))
        .contains(Duration.ofSeconds(30));
  }

  @Test
  void obsoleteAsctimeDateIsAccepted() {
    assertThat(RetryAfter.parse("Sun Nov  6 08:49:37 1994", NOW)).contains(Duration.ofSeconds(30));
    assertThat(RetryAfter.parse("Wed Nov 16 08:49:37 1994", NOW))
        .contains(Duration.ofDays(10).plusSeconds(30));
  }

  @Test
  void dateInThePastGivesNoDelay() {
    assertThat(RetryAfter.parse("Sun, 06 Nov 1994 08:48:00 GMT", NOW)).isEmpty();
  }

  @Test
  void withoutAClockMeasuresFromNow() {
    assertThat(RetryAfter.parse("5")).contains(Duration.ofSeconds(5));
  }

  @ParameterizedTest
  @NullAndEmptySource
  @ValueSource(
      strings = {
        "-1",
        "1.5",
        "+3",
        "3s",
        "soon",
        "  ",
        "99999999999999999999999",
        "Sun, 32 Nov 1994 08:49:37 GMT",
        "2024-01-01T00:00:00Z"
      })
  void garbageOrNegativeGivesNoDelay(String value) {
    assertThat(RetryAfter.parse(value, NOW)).isEmpty();
  }
}
