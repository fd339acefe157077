package io.sagaflow.sagas.demo;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a demo service has done: every effect it applied (or compensation it found nothing to undo
 * for) with the idempotency key that caused it, and counts of the calls it received. Served as JSON
 * at {@code GET /{service}/ledger}.
 */
final class Ledger {

  /** What an entry did. */
  enum Effect {
    /** The action happened: something was reserved, authorized, charged, created or sent. */
    APPLIED,
    /** A compensation undid an applied action. */
    UNDONE,
    /** A compensation found nothing to undo: the action never happened, or was already undone. */
    NOTHING_TO_UNDO
  }

  /** Kinds of calls counted. */
  enum Counter {
    RECEIVED,
    REPLAYED,
    FAULTED,
    REJECTED,
    INVALID
  }

  private record Entry(
      long seq,
      Instant at,
      String operation,
      String reference,
      Effect effect,
      String idempotencyKey,
      String sagaId,
      ObjectNode details) {}

  private final String service;
  private final List<Entry> entries = new ArrayList<>();
  private final Map<Counter, Long> counters = new EnumMap<>(Counter.class);

  Ledger(String service) {
    this.service = service;
    for (Counter counter : Counter.values()) {
      counters.put(counter, 0L);
    }
  }

  synchronized void record(
      Call call, String operation, String reference, Effect effect, ObjectNode details) {
    entries.add(
        new Entry(
            entries.size() + 1L,
            Instant.now(),
            operation,
            reference,
            effect,
            call.idempotencyKey(),
            call.sagaId(),
            details.deepCopy()));
  }

  synchronized void count(Counter counter) {
    counters.merge(counter, 1L, Long::sum);
  }

  synchronized ObjectNode toJson() {
    ObjectNode json = ServiceEndpoint.JSON.createObjectNode().put("service", service);
    ArrayNode list = json.putArray("entries");
    for (Entry e : entries) {
      list.addObject()
          .put("seq", e.seq())
          .put("at", e.at().toString())
          .put("operation", e.operation())
          .put("reference", e.reference())
          .put("effect", e.effect().name())
          .put("idempotencyKey", e.idempotencyKey())
          .put("sagaId", e.sagaId())
          .set("details", e.details().deepCopy());
    }
    ObjectNode calls = json.putObject("calls");
    counters.forEach((counter, n) -> calls.put(counter.name().toLowerCase(Locale.ROOT), n));
    return json;
  }
}
