package io.sagaflow.persistence.timer;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.sagaflow.persistence.testing.TestDatabase;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The durable timers on real PostgreSQL: written in groups, read by due time, deleted if same. */
class SagaTimersIT {
  private static final Instant T0 = Instant.parse("2030-01-01T00:00:00.123456789Z");

  private final TestDatabase db = TestDatabase.fresh();

  private SagaTimers open() {
    return SagaTimers.open(db.settings(), 2, Duration.ofSeconds(5), new SimpleMeterRegistry());
  }

  @Test
  void timersAreReadEarliestFirstUpToTheGivenTimeAndReplacedPerSaga() throws Exception {
    try (SagaTimers timers = open()) {
      CompletableFuture.allOf(
              IntStream.range(0, 300)
                  .mapToObj(i -> timers.schedule("s-" + i, T0.plusSeconds(300 - i), i))
                  .map(CompletableFuture.class::cast)
                  .map(f -> (CompletableFuture<?>) f)
                  .toArray(CompletableFuture[]::new))
          .get(30, TimeUnit.SECONDS);
      timers
          .schedule("s-0", T0.plusSeconds(1000), 7)
          .toCompletableFuture()
          .get(30, TimeUnit.SECONDS);

      assertThat(db.count("select count(*) from saga_timer")).isEqualTo(300);
      List<SagaTimers.Due> due = timers.dueBy(T0.plusSeconds(10), 100);
      assertThat(due)
          .extracting(SagaTimers.Due::sagaId)
          .containsExactly(
              "s-299", "s-298", "s-297", "s-296", "s-295", "s-294", "s-293", "s-292", "s-291",
              "s-290");
      assertThat(due.get(0).dueAt())
          .isEqualTo(T0.plusSeconds(1).truncatedTo(java.time.temporal.ChronoUnit.MICROS));
      assertThat(db.scalar("select seq_nr from saga_timer where saga_id = 's-0'")).isEqualTo("7");
      assertThat(timers.dueBy(T0.plusSeconds(1000), 1000))
          .hasSize(300)
          .last()
          .isEqualTo(new SagaTimers.Due("s-0", T0.plusSeconds(1000)));
    }
  }

  @Test
  void aSignalWaitIsKeptWithItsTimerAndASagaClearsOnlyTimersOlderThanItsNewestEvent()
      throws Exception {
    try (SagaTimers timers = open()) {
      timers
          .schedule("waits", T0.plusSeconds(60), 3, "approval", T0)
          .toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
      timers.schedule("backs-off", T0, 5).toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertThat(db.scalar("select signal from saga_timer where saga_id = 'waits'"))
          .isEqualTo("approval");
      assertThat(
              db.scalar(
                  // Kept to the microsecond, as PostgreSQL keeps times.
                  "select waiting_since = '"
                      + T0.truncatedTo(java.time.temporal.ChronoUnit.MICROS)
                      + "' from saga_timer where saga_id = 'waits'"))
          .isEqualTo("t");
      assertThat(db.count("select count(*) from saga_timer where signal is null")).isEqualTo(1);

      // A clear at the timer's own sequence number leaves it: it stands for that journal.
      timers.clear("backs-off", 5).toCompletableFuture().get(30, TimeUnit.SECONDS);
      timers.clear("waits", 4).toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertThat(db.count("select count(*) from saga_timer")).isEqualTo(1);
      assertThat(db.scalar("select saga_id from saga_timer")).isEqualTo("backs-off");

      // In one batch, a clear then a newer timer of the same saga: the newer timer stays.
      CompletableFuture.allOf(
              timers.clear("backs-off", 6).toCompletableFuture(),
              timers.schedule("backs-off", T0.plusSeconds(5), 6).toCompletableFuture())
          .get(30, TimeUnit.SECONDS);
      assertThat(db.scalar("select seq_nr from saga_timer where saga_id = 'backs-off'"))
          .isEqualTo("6");
    }
  }

  @Test
  void aFiredTimerIsDeletedOnlyIfItsSagaHasNotWrittenANewOne() throws Exception {
    try (SagaTimers timers = open()) {
      timers.schedule("a", T0, 2).toCompletableFuture().get(30, TimeUnit.SECONDS);
      timers.schedule("b", T0, 2).toCompletableFuture().get(30, TimeUnit.SECONDS);
      List<SagaTimers.Due> fired = timers.dueBy(T0, 10);
      assertThat(fired).hasSize(2);
      timers.schedule("b", T0.plusSeconds(60), 4).toCompletableFuture().get(30, TimeUnit.SECONDS);

      assertThat(timers.delete(fired)).isEqualTo(1);
      assertThat(timers.dueBy(T0.plusSeconds(60), 10))
          .containsExactly(new SagaTimers.Due("b", T0.plusSeconds(60)));
      timers
          .schedule("c", Instant.now().minusSeconds(1), 2)
          .toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
      assertThat(timers.countDue()).isEqualTo(1);
    }
  }
}
