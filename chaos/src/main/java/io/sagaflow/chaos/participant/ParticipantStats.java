package io.sagaflow.chaos.participant;

import io.sagaflow.chaos.format.LedgerEntry.Effect;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** What {@code GET /control/stats} reports: deliveries, counts per effect, the storm. */
public final class ParticipantStats {
  private final LongAdder deliveries = new LongAdder();
  private final Map<Effect, LongAdder> effects = new EnumMap<>(Effect.class);
  private final AtomicLong stormUntil = new AtomicLong();

  ParticipantStats() {
    for (Effect e : Effect.values()) {
      effects.put(e, new LongAdder());
    }
  }

  public long deliveries() {
    return deliveries.sum();
  }

  public long count(Effect effect) {
    return effects.get(effect).sum();
  }

  void counted(Effect effect) {
    deliveries.increment();
    effects.get(effect).increment();
  }

  void stormUntil(long epochMillis) {
    stormUntil.set(epochMillis);
  }

  boolean storming(long now) {
    return now < stormUntil.get();
  }

  /** {@code {"deliveries":n,"effects":{"APPLIED":n,...},"storm":{"active":b,"until":ms}}} */
  byte[] json(long now) {
    var out = new StringBuilder("{\"deliveries\":").append(deliveries()).append(",\"effects\":{");
    String separator = "";
    for (Effect e : Effect.values()) {
      out.append(separator).append('"').append(e.name()).append("\":").append(count(e));
      separator = ",";
    }
    out.append("},\"storm\":{\"active\":")
        .append(storming(now))
        .append(",\"until\":")
        .append(stormUntil.get())
        .append("}}");
    return out.toString().getBytes(StandardCharsets.UTF_8);
  }
}
