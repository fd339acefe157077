package io.sagaflow.testkit;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import org.apache.pekko.testkit.ExplicitlyTriggeredScheduler;

/**
 * The time of an actor system whose scheduler is moved by hand: {@code start} plus the time the
 * scheduler has been moved on. It moves when the scheduler does and only then, so the saga's clock
 * and its timers agree.
 */
final class ManualClock extends Clock {
  private final ExplicitlyTriggeredScheduler scheduler;
  private final Instant start;
  private final ZoneId zone;

  ManualClock(ExplicitlyTriggeredScheduler scheduler, Instant start) {
    this(scheduler, start, ZoneOffset.UTC);
  }

  private ManualClock(ExplicitlyTriggeredScheduler scheduler, Instant start, ZoneId zone) {
    this.scheduler = scheduler;
    this.start = start;
    this.zone = zone;
  }

  @Override
  public Instant instant() {
    return start.plusMillis(scheduler.currentTimeMs());
  }

  @Override
  public ZoneId getZone() {
    return zone;
  }

  @Override
  public Clock withZone(ZoneId zone) {
    return new ManualClock(scheduler, start, zone);
  }
}
