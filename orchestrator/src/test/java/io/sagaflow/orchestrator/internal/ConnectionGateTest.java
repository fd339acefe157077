package io.sagaflow.orchestrator.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ConnectionGateTest {

  @Test
  void callsBeyondThePermitsWaitAndStartInOrderAsPermitsAreReleased() {
    ConnectionGate gate = new ConnectionGate(2, 10);
    List<String> started = new ArrayList<>();
    for (String name : List.of("a", "b", "c", "d")) {
      assertThat(gate.offer(() -> started.add(name))).isTrue();
    }
    assertThat(started).containsExactly("a", "b");
    assertThat(gate.inUse()).isEqualTo(2);
    assertThat(gate.waiting()).isEqualTo(2);

    gate.release();
    assertThat(started).containsExactly("a", "b", "c");
    gate.release();
    gate.release();
    assertThat(started).containsExactly("a", "b", "c", "d");
    assertThat(gate.inUse()).isEqualTo(1);
    assertThat(gate.waiting()).isZero();
  }

  @Test
  void aDroppedCallGivesItsPermitToTheNextWaitingCall() {
    ConnectionGate gate = new ConnectionGate(1, 10);
    List<String> started = new ArrayList<>();
    gate.offer(() -> started.add("holder"));
    gate.offer(() -> false); // abandoned while it waited
    gate.offer(
        () -> {
          throw new IllegalStateException("a broken call");
        });
    gate.offer(() -> started.add("next"));

    gate.release();

    assertThat(started).containsExactly("holder", "next");
    assertThat(gate.inUse()).isEqualTo(1);
    assertThat(gate.waiting()).isZero();
  }

  @Test
  void anOfferOverTheWaitingBoundIsRefusedAndLeavesNothingQueued() {
    ConnectionGate gate = new ConnectionGate(1, 2);
    AtomicInteger started = new AtomicInteger();
    assertThat(gate.offer(() -> started.incrementAndGet() > 0)).isTrue();
    assertThat(gate.offer(() -> started.incrementAndGet() > 0)).isTrue();
    assertThat(gate.offer(() -> started.incrementAndGet() > 0)).isTrue();
    assertThat(gate.offer(() -> started.incrementAndGet() > 0)).isFalse();
    assertThat(gate.waiting()).isEqualTo(2);

    gate.release();
    gate.release();
    assertThat(started).hasValue(3);
    assertThat(gate.waiting()).isZero();
  }

  @Test
  void underConcurrentOffersAndReleasesThePermitsAreNeverExceededAndEveryCallStartsOnce()
      throws Exception {
    int permits = 4;
    int calls = 20_000;
    ConnectionGate gate = new ConnectionGate(permits, calls);
    AtomicInteger running = new AtomicInteger();
    AtomicInteger most = new AtomicInteger();
    ConcurrentLinkedQueue<Integer> started = new ConcurrentLinkedQueue<>();
    ExecutorService pool = Executors.newFixedThreadPool(4);
    CountDownLatch done = new CountDownLatch(calls);
    try {
      for (int i = 0; i < calls; i++) {
        int id = i;
        pool.execute(
            () ->
                gate.offer(
                    () -> {
                      most.accumulateAndGet(running.incrementAndGet(), Math::max);
                      started.add(id);
                      // The call's connection frees up on another thread, as pekko-http's does.
                      pool.execute(
                          () -> {
                            running.decrementAndGet();
                            gate.release();
                            done.countDown();
                          });
                      return true;
                    }));
      }
      assertThat(done.await(30, TimeUnit.SECONDS)).as("every call started and released").isTrue();
    } finally {
      pool.shutdownNow();
    }
    assertThat(most.get()).isLessThanOrEqualTo(permits);
    assertThat(started).hasSize(calls).doesNotHaveDuplicates();
    assertThat(gate.inUse()).isZero();
    assertThat(gate.waiting()).isZero();
  }

  @Test
  void permitsAndTheWaitingBoundMustBePositive() {
    assertThatThrownBy(() -> new ConnectionGate(0, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("must be > 0");
  }
}
