package io.sagaflow.chaos.participant;

import io.sagaflow.chaos.format.LedgerEntry.Call;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * How often each fault strikes: a rate per fault, and a separate rate for rejecting compensations.
 * Which fault a delivery gets is a pure function of (seed, key, delivery number), so a run with the
 * same seed and the same deliveries injects the same faults; a rejection is sticky, decided by
 * (seed, key) alone.
 *
 * <p>Syntax of {@link #parse}: comma-separated tokens applied left to right over the defaults,
 * {@code name=rate} (a fault's label, or {@code reject-compensation}), {@code none} (every rate 0)
 * or {@code default}; e.g. {@code error-before=0.1,reject=0} or {@code none,duplicate=1}.
 */
public record FaultMix(Map<Fault, Double> rates, double rejectCompensation) {

  /** The per-delivery faults, in the order a draw walks them; REJECT is drawn apart. */
  private static final List<Fault> PER_DELIVERY =
      List.of(
          Fault.ERROR_BEFORE,
          Fault.LOST_AFTER,
          Fault.DELAYED_AFTER,
          Fault.DUPLICATE,
          Fault.SLOW,
          Fault.OVERSIZED,
          Fault.MALFORMED);

  public static final FaultMix DEFAULT =
      new FaultMix(
          Map.of(
              Fault.ERROR_BEFORE, 0.05,
              Fault.LOST_AFTER, 0.03,
              Fault.DELAYED_AFTER, 0.03,
              Fault.DUPLICATE, 0.05,
              Fault.SLOW, 0.05,
              Fault.REJECT, 0.02,
              Fault.OVERSIZED, 0.01,
              Fault.MALFORMED, 0.01),
          0.003);

  public static final FaultMix NONE = new FaultMix(Map.of(), 0);

  public FaultMix {
    var copy = new EnumMap<Fault, Double>(Fault.class);
    copy.putAll(rates);
    copy.remove(Fault.NONE);
    copy.forEach((f, r) -> requireRate(f.label(), r));
    requireRate("reject-compensation", rejectCompensation);
    double perDelivery = PER_DELIVERY.stream().mapToDouble(f -> copy.getOrDefault(f, 0.0)).sum();
    if (perDelivery > 1.0 + 1e-9) {
      throw new IllegalArgumentException(
          "the per-delivery fault rates add up to " + perDelivery + ", more than 1");
    }
    rates = Map.copyOf(copy);
  }

  public static FaultMix parse(String spec) {
    var rates = new EnumMap<Fault, Double>(Fault.class);
    rates.putAll(DEFAULT.rates);
    double rejectCompensation = DEFAULT.rejectCompensation;
    for (String token : spec.split(",")) {
      String t = token.trim();
      if (t.isEmpty()) {
        continue;
      }
      if (t.equals("none")) {
        rates.clear();
        rejectCompensation = 0;
      } else if (t.equals("default")) {
        rates.putAll(DEFAULT.rates);
        rejectCompensation = DEFAULT.rejectCompensation;
      } else {
        int eq = t.indexOf('=');
        if (eq < 0) {
          throw new IllegalArgumentException("--mix: expected name=rate, got '" + t + "'");
        }
        String name = t.substring(0, eq).trim();
        double rate = Double.parseDouble(t.substring(eq + 1).trim());
        if (name.equals("reject-compensation")) {
          rejectCompensation = rate;
        } else {
          rates.put(Fault.labelled(name), rate);
        }
      }
    }
    return new FaultMix(rates, rejectCompensation);
  }

  public double rate(Fault fault) {
    return rates.getOrDefault(fault, 0.0);
  }

  /** Whether every delivery of {@code key} is refused with a 422. */
  public boolean rejects(long seed, String key, Call call) {
    double rate = call == Call.COMPENSATION ? rejectCompensation : rate(Fault.REJECT);
    return rate > 0 && random(seed, key, 0).nextDouble() < rate;
  }

  /** The fault of delivery {@code delivery} (1, 2, ...) of {@code key}, rejection aside. */
  public Fault choose(long seed, String key, int delivery) {
    double u = random(seed, key, delivery).nextDouble();
    double cumulative = 0;
    for (Fault f : PER_DELIVERY) {
      cumulative += rate(f);
      if (u < cumulative) {
        return f;
      }
    }
    return Fault.NONE;
  }

  /** A random stream for one delivery, e.g. for how long a slow answer waits. */
  public static SplittableRandom random(long seed, String key, int delivery) {
    long h = seed * 0x9E3779B97F4A7C15L;
    for (int i = 0; i < key.length(); i++) {
      h = (h ^ key.charAt(i)) * 0x100000001B3L;
    }
    return new SplittableRandom(h ^ (delivery * 0xC2B2AE3D27D4EB4FL));
  }

  /** The spec that parses back to this mix. */
  public String spec() {
    var out = new StringBuilder("none");
    for (Fault f : Fault.values()) {
      if (rate(f) > 0) {
        out.append(',').append(f.label()).append('=').append(rate(f));
      }
    }
    if (rejectCompensation > 0) {
      out.append(",reject-compensation=").append(rejectCompensation);
    }
    return out.toString();
  }

  private static void requireRate(String name, double rate) {
    if (!(rate >= 0 && rate <= 1)) {
      throw new IllegalArgumentException(name + " rate must be in [0, 1], was " + rate);
    }
  }
}
