package io.sagaflow.chaos.participant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.offset;

import io.sagaflow.chaos.format.LedgerEntry.Call;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class FaultMixTest {

  @Test
  void overridesApplyLeftToRightOverTheDefaults() {
    FaultMix mix = FaultMix.parse("error-before=0.1,reject=0");
    assertThat(mix.rate(Fault.ERROR_BEFORE)).isEqualTo(0.1);
    assertThat(mix.rate(Fault.REJECT)).isZero();
    assertThat(mix.rate(Fault.DUPLICATE)).isEqualTo(0.05);
    assertThat(mix.rejectCompensation()).isEqualTo(0.003);

    FaultMix only = FaultMix.parse("none,duplicate=1");
    assertThat(only.rates()).containsExactly(Map.entry(Fault.DUPLICATE, 1.0));
    assertThat(only.rejectCompensation()).isZero();
    assertThat(FaultMix.parse(only.spec())).isEqualTo(only);
    assertThat(FaultMix.parse("")).isEqualTo(FaultMix.DEFAULT);
  }

  @Test
  void refusesWhatIsNotAMix() {
    assertThatThrownBy(() -> FaultMix.parse("sometimes=0.1")).hasMessageContaining("sometimes");
    assertThatThrownBy(() -> FaultMix.parse("slow")).hasMessageContaining("name=rate");
    assertThatThrownBy(() -> FaultMix.parse("slow=1.5")).hasMessageContaining("[0, 1]");
    assertThatThrownBy(() -> FaultMix.parse("slow=0.6,duplicate=0.6"))
        .hasMessageContaining("more than 1");
  }

  @Test
  void theFaultOfADeliveryDependsOnlyOnSeedKeyAndDelivery() {
    for (int i = 0; i < 200; i++) {
      String key = "saga-" + i + "/charge";
      assertThat(FaultMix.DEFAULT.choose(42, key, 2))
          .isEqualTo(FaultMix.DEFAULT.choose(42, key, 2));
    }
    long differ = 0;
    for (int i = 0; i < 2000; i++) {
      if (FaultMix.DEFAULT.choose(1, "k" + i, 1) != FaultMix.DEFAULT.choose(2, "k" + i, 1)) {
        differ++;
      }
    }
    assertThat(differ).as("another seed, other faults").isGreaterThan(100);
  }

  @Test
  void theDefaultRatesAreRoughlyThoseAsked() {
    int n = 100_000;
    var counts = new EnumMap<Fault, Integer>(Fault.class);
    int rejected = 0;
    int rejectedCompensations = 0;
    for (int i = 0; i < n; i++) {
      String key = "s" + i + "/reserve";
      counts.merge(FaultMix.DEFAULT.choose(9, key, 1), 1, Integer::sum);
      rejected += FaultMix.DEFAULT.rejects(9, key, Call.FORWARD) ? 1 : 0;
      rejectedCompensations +=
          FaultMix.DEFAULT.rejects(9, key + "/compensation", Call.COMPENSATION) ? 1 : 0;
    }
    for (Fault f : Fault.values()) {
      if (f != Fault.NONE && f != Fault.REJECT) {
        assertThat(counts.getOrDefault(f, 0) / (double) n)
            .as(f.label())
            .isCloseTo(FaultMix.DEFAULT.rate(f), offset(0.005));
      }
    }
    assertThat(rejected / (double) n).isCloseTo(0.02, offset(0.003));
    assertThat(rejectedCompensations / (double) n).isCloseTo(0.003, offset(0.001));
  }

  @Test
  void aRejectionIsStickyToTheKey() {
    FaultMix half = FaultMix.parse("none,reject=0.5");
    for (int i = 0; i < 100; i++) {
      String key = "s" + i + "/notify";
      boolean first = half.rejects(5, key, Call.FORWARD);
      assertThat(half.rejects(5, key, Call.FORWARD)).isEqualTo(first);
    }
  }
}
