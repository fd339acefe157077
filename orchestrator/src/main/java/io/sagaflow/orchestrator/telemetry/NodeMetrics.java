package io.sagaflow.orchestrator.telemetry;

import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.composite.CompositeMeterRegistry;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.distribution.DistributionStatisticConfig;
import org.apache.pekko.actor.AbstractExtensionId;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.actor.ExtendedActorSystem;
import org.apache.pekko.actor.Extension;

/**
 * The meter registry of one actor system, for the code that Pekko constructs and that therefore
 * cannot be handed one: the journal plugin's writer, the participant client's circuit breakers, the
 * connection pools. It is a composite: the node adds the registry that publishes (Prometheus) when
 * it starts, and meters registered before that get their share in it then. With nothing added every
 * meter is a no-op, so the engine's own tests and a bench without metrics pay almost nothing.
 */
public final class NodeMetrics implements Extension {
  private static final Id ID = new Id();

  /**
   * Drops the percentiles a meter asks to compute in the process (HikariCP's timers ask for a
   * 95th): they cannot be combined over nodes, where histograms can, and they would need
   * HdrHistogram, which the node does not ship. Every registry of the node has it.
   */
  public static final MeterFilter NO_CLIENT_PERCENTILES =
      new MeterFilter() {
        @Override
        public DistributionStatisticConfig configure(
            Meter.Id id, DistributionStatisticConfig config) {
          return DistributionStatisticConfig.builder().percentiles().build().merge(config);
        }
      };

  private final CompositeMeterRegistry registry = new CompositeMeterRegistry();

  private NodeMetrics() {
    registry.config().meterFilter(NO_CLIENT_PERCENTILES);
  }

  public static NodeMetrics get(ActorSystem system) {
    return ID.get(system);
  }

  /** Where to register meters; what is recorded reaches every registry {@link #add}ed. */
  public MeterRegistry registry() {
    return registry;
  }

  /** Publishes every meter of this system, already registered or to come, to {@code target}. */
  public void add(MeterRegistry target) {
    registry.add(target);
  }

  private static final class Id extends AbstractExtensionId<NodeMetrics> {
    @Override
    public NodeMetrics createExtension(ExtendedActorSystem system) {
      return new NodeMetrics();
    }
  }
}
