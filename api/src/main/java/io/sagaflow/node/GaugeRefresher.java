package io.sagaflow.node;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.sagaflow.orchestrator.SagaEngine;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.persistence.index.SagaIndex;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.DispatcherSelector;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The gauges read in the background, every {@code sagaflow.metrics.index-refresh-interval} on the
 * blocking dispatcher, never when Prometheus scrapes nor on a saga's path: from the saga index (one
 * query for the unfinished sagas, one for its lag), so the same on every node of the cluster, and
 * the saga entities this node holds, from sharding. A read that fails keeps the last values (NaN
 * before the first) and is logged once until one succeeds again.
 *
 * <ul>
 *   <li>{@code sagaflow_sagas_in_flight{saga_type,status}}: RUNNING, COMPENSATING and FAILED (the
 *       sagas waiting for an operator);
 *   <li>{@code sagaflow_oldest_unfinished_saga_age_seconds{saga_type}}: of the oldest RUNNING or
 *       COMPENSATING saga, 0 when none (a FAILED saga waits for a person, not for the engine: it is
 *       counted above); the age is taken when scraped, from the start the index read;
 *   <li>{@code sagaflow_index_lag_events}: journal rows the index has not applied yet;
 *   <li>{@code sagaflow_sagas_in_memory}: saga entities alive on this node.
 * </ul>
 */
final class GaugeRefresher {
  private static final Logger log = LoggerFactory.getLogger(GaugeRefresher.class);

  private static final List<SagaStatus> IN_FLIGHT =
      List.of(SagaStatus.RUNNING, SagaStatus.COMPENSATING, SagaStatus.FAILED);
  private static final Set<SagaStatus> DRIVEN = Set.of(SagaStatus.RUNNING, SagaStatus.COMPENSATING);

  /** What one refresh read from the index. */
  private record Reading(
      Map<String, Map<SagaStatus, Long>> counts, Map<String, Instant> oldest, long lag) {}

  private final MeterRegistry registry;
  private final SagaIndex index;
  private final String offsetTable;
  private final SagaEngine engine;
  private final Set<String> typesWithGauges = ConcurrentHashMap.newKeySet();
  private volatile Reading latest;
  private volatile double inMemory = Double.NaN;
  private volatile boolean failing;

  private GaugeRefresher(
      MeterRegistry registry, SagaIndex index, String offsetTable, SagaEngine engine) {
    this.registry = registry;
    this.index = index;
    this.offsetTable = offsetTable;
    this.engine = engine;
  }

  /** Registers the gauges (for {@code types} at once, for others once the index lists them). */
  static void start(
      ActorSystem<?> system,
      MeterRegistry registry,
      SagaIndex index,
      String offsetTable,
      SagaEngine engine,
      Collection<String> types,
      Duration interval) {
    var refresher = new GaugeRefresher(registry, index, offsetTable, engine);
    types.forEach(refresher::gaugesOf);
    Gauge.builder("sagaflow.index.lag.events", refresher, r -> r.lag())
        .description("Journal rows the saga index has not applied yet (cluster-wide)")
        .strongReference(true)
        .register(registry);
    Gauge.builder("sagaflow.sagas.in.memory", refresher, r -> r.inMemory)
        .description("Saga entities alive on this node")
        .strongReference(true)
        .register(registry);
    system
        .scheduler()
        .scheduleWithFixedDelay(
            Duration.ZERO,
            interval,
            refresher::refresh,
            system.dispatchers().lookup(DispatcherSelector.blocking()));
  }

  private void gaugesOf(String type) {
    if (!typesWithGauges.add(type)) {
      return;
    }
    for (SagaStatus status : IN_FLIGHT) {
      Gauge.builder("sagaflow.sagas.in.flight", this, r -> r.inFlight(type, status))
          .description("Unfinished sagas, from the saga index (cluster-wide)")
          .tag("saga_type", type)
          .tag("status", status.name())
          .strongReference(true)
          .register(registry);
    }
    Gauge.builder("sagaflow.oldest.unfinished.saga.age", this, r -> r.oldestAge(type))
        .description("Age of the oldest RUNNING or COMPENSATING saga, 0 when none (cluster-wide)")
        .baseUnit("seconds")
        .tag("saga_type", type)
        .strongReference(true)
        .register(registry);
  }

  private double inFlight(String type, SagaStatus status) {
    Reading r = latest;
    return r == null
        ? Double.NaN
        : r.counts().getOrDefault(type, Map.of()).getOrDefault(status, 0L);
  }

  private double oldestAge(String type) {
    Reading r = latest;
    if (r == null) {
      return Double.NaN;
    }
    Instant oldest = r.oldest().get(type);
    return oldest == null
        ? 0
        : Math.max(0, Duration.between(oldest, Instant.now()).toMillis() / 1e3);
  }

  private double lag() {
    Reading r = latest;
    return r == null ? Double.NaN : r.lag();
  }

  private void refresh() {
    engine
        .localShards()
        .thenAccept(
            state ->
                inMemory =
                    state.getShards().stream()
                        .mapToInt(shard -> shard.getEntityIds().size())
                        .sum());
    try {
      // The lag first: when it is 0, the counts read after it include every status change the
      // journal held when it was read.
      long lag = index.unappliedEvents(offsetTable);
      var counts = new HashMap<String, Map<SagaStatus, Long>>();
      var oldest = new HashMap<String, Instant>();
      for (SagaIndex.Unfinished u : index.unfinished()) {
        gaugesOf(u.type());
        counts.computeIfAbsent(u.type(), t -> new HashMap<>()).put(u.status(), u.count());
        if (DRIVEN.contains(u.status())) {
          oldest.merge(u.type(), u.oldestCreatedAt(), (a, b) -> a.isBefore(b) ? a : b);
        }
      }
      latest = new Reading(counts, oldest, lag);
      if (failing) {
        failing = false;
        log.info("The saga index answers again: its gauges are current");
      }
    } catch (RuntimeException e) {
      if (!failing) {
        failing = true;
        log.warn(
            "Could not read the saga index for its gauges; they keep their last values until it"
                + " answers: {}",
            e.toString());
      }
    }
  }
}
