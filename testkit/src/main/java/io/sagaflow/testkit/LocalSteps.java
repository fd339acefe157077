package io.sagaflow.testkit;

import io.sagaflow.orchestrator.internal.StepRunner;
import java.time.Clock;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;

/**
 * Where one scenario's local steps run: the kit's pool, counting what is still running and writing
 * every run to the scenario's {@link CallLog}. The engine hands this executor nothing but local
 * steps' functions.
 */
final class LocalSteps implements Executor {
  private final Executor pool;
  private final CallLog log;
  private final IntSupplier eventsWritten;
  private final Clock clock;
  private final AtomicInteger running = new AtomicInteger();

  LocalSteps(Executor pool, CallLog log, IntSupplier eventsWritten, Clock clock) {
    this.pool = pool;
    this.log = log;
    this.eventsWritten = eventsWritten;
    this.clock = clock;
  }

  @Override
  public void execute(Runnable function) {
    log.ranLocally(
        eventsWritten.getAsInt(),
        clock.instant(),
        (StepRunner.LocalTask) function); // the engine hands it nothing else
    running.incrementAndGet();
    try {
      pool.execute(
          () -> {
            try {
              function.run();
            } finally {
              running.decrementAndGet();
            }
          });
    } catch (RejectedExecutionException e) {
      running.decrementAndGet();
      throw e;
    }
  }

  /** How many functions are running now. */
  int running() {
    return running.get();
  }
}
