package io.sagaflow.chaos.run;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.sagaflow.node.SagaflowNode;
import java.time.Duration;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class FaultPlanTest {
  private static final FaultPlan.Timings TIMINGS =
      FaultPlan.Timings.from(SagaflowNode.config(ConfigFactory.empty()), Duration.ofSeconds(5));

  @Test
  void theSameSeedDrawsTheSamePlan() {
    RunOptions options = RunOptions.profile("long", 42);

    assertThat(FaultPlan.draw(options, TIMINGS, 3))
        .isEqualTo(FaultPlan.draw(options, TIMINGS, 3))
        .isNotEqualTo(FaultPlan.draw(options.withSeed(43), TIMINGS, 3));
  }

  @Test
  void theLongProfileHasTheFaultsItPromises() {
    FaultPlan plan = FaultPlan.draw(RunOptions.profile("long", 1), TIMINGS, 3);

    Map<FaultPlan.Kind, Long> kinds =
        plan.faults().stream()
            .collect(Collectors.groupingBy(FaultPlan.Fault::kind, Collectors.counting()));
    assertThat(kinds)
        .containsEntry(FaultPlan.Kind.KILL, 20L)
        .containsEntry(FaultPlan.Kind.DB_RESTART, 10L)
        .containsEntry(FaultPlan.Kind.PARTITION, 3L)
        .containsEntry(FaultPlan.Kind.STORM, 1L);
    assertThat(kinds.get(FaultPlan.Kind.STOP)).isGreaterThanOrEqualTo(1L);
    assertThat(plan.faults())
        .allSatisfy(
            f ->
                assertThat(f.gapBefore())
                    .isBetween(Duration.ofSeconds(30), Duration.ofSeconds(60)));
  }

  @Test
  void pausesAndPartitionsOutlastFailureDetectionAndStableAfter() {
    var config = SagaflowNode.config(ConfigFactory.empty());
    Duration downing =
        config
            .getDuration("pekko.cluster.failure-detector.acceptable-heartbeat-pause")
            .plus(config.getDuration("pekko.cluster.split-brain-resolver.stable-after"));
    FaultPlan plan = FaultPlan.draw(RunOptions.profile("long", 7), TIMINGS, 3);

    assertThat(plan.faults())
        .filteredOn(f -> f.kind() == FaultPlan.Kind.STOP || f.kind() == FaultPlan.Kind.PARTITION)
        .isNotEmpty()
        .allSatisfy(f -> assertThat(f.length()).isGreaterThan(downing))
        .allSatisfy(f -> assertThat(f.node()).isBetween(0, 2));
  }

  @Test
  void optionsRefineTheProfile() {
    RunOptions o =
        RunOptions.parse(
            new String[] {
              "--profile", "long", "--seed", "9", "--sagas", "20", "--kills", "1", "--dir", "x"
            });

    assertThat(o.profile()).isEqualTo("long");
    assertThat(o.seed()).isEqualTo(9);
    assertThat(o.sagas()).isEqualTo(20);
    assertThat(o.kills()).isEqualTo(1);
    assertThat(o.partitions()).isEqualTo(3);
    assertThat(o.dir()).hasToString("x");
  }
}
