package io.sagaflow.orchestrator.telemetry;

import java.util.HashMap;
import java.util.Map;
import org.slf4j.MDC;

/**
 * The MDC keys that every log line about a saga carries, and a scope that sets them on a thread
 * that is not the saga's own (a local-step thread, an HTTP callback, an API request).
 *
 * <p>Keys: {@value #SAGA_ID}, {@value #SAGA_TYPE}, and, while one of its steps is being called,
 * {@value #SAGA_STEP} and {@value #SAGA_ATTEMPT} (the attempt of that step, from 1; a compensation
 * counts its own attempts). The saga entity sets them around every message it handles; everything
 * else opens a {@link Scope} and closes it when done, which puts back what the thread had before,
 * so that no key is left behind on a pooled thread.
 */
public final class SagaMdc {
  public static final String SAGA_ID = "sagaId";
  public static final String SAGA_TYPE = "sagaType";
  public static final String SAGA_STEP = "sagaStep";
  public static final String SAGA_ATTEMPT = "sagaAttempt";

  private static final String[] KEYS = {SAGA_ID, SAGA_TYPE, SAGA_STEP, SAGA_ATTEMPT};

  private SagaMdc() {}

  /**
   * The MDC values of a saga: null (or, for {@code attempt}, 0 and below) leaves a key out, e.g.
   * the step of a saga that is between steps.
   */
  public static Map<String, String> of(String sagaId, String type, String step, int attempt) {
    var values = new HashMap<String, String>(8);
    putIfPresent(values, SAGA_ID, sagaId);
    putIfPresent(values, SAGA_TYPE, type);
    putIfPresent(values, SAGA_STEP, step);
    if (attempt > 0) {
      values.put(SAGA_ATTEMPT, Integer.toString(attempt));
    }
    return values;
  }

  /**
   * The MDC values of a participant call, read from the headers it carries ({@code Saga-Id}, {@code
   * Saga-Type}, {@code Saga-Step}, {@code Saga-Attempt}); empty for a call that has none.
   */
  public static Map<String, String> ofHeaders(Map<String, String> headers) {
    var values = new HashMap<String, String>(8);
    if (headers != null) {
      putIfPresent(values, SAGA_ID, headers.get("Saga-Id"));
      putIfPresent(values, SAGA_TYPE, headers.get("Saga-Type"));
      putIfPresent(values, SAGA_STEP, headers.get("Saga-Step"));
      putIfPresent(values, SAGA_ATTEMPT, headers.get("Saga-Attempt"));
    }
    return values;
  }

  /** Sets {@code values} on this thread until the scope is closed. */
  public static Scope open(Map<String, String> values) {
    return new Scope(values);
  }

  /** Sets the keys of saga {@code sagaId} (nothing else known) until the scope is closed. */
  public static Scope open(String sagaId) {
    return new Scope(of(sagaId, null, null, 0));
  }

  private static void putIfPresent(Map<String, String> values, String key, String value) {
    if (value != null && !value.isEmpty()) {
      values.put(key, value);
    }
  }

  /**
   * The saga keys set on one thread; {@link #close} puts back the values they had before (removes
   * the keys that were not set). Every saga key is replaced, so that a key of another saga the
   * thread had set cannot show through.
   */
  public static final class Scope implements AutoCloseable {
    private final String[] before = new String[KEYS.length];

    private Scope(Map<String, String> values) {
      for (int i = 0; i < KEYS.length; i++) {
        before[i] = MDC.get(KEYS[i]);
        String value = values.get(KEYS[i]);
        if (value == null) {
          MDC.remove(KEYS[i]);
        } else {
          MDC.put(KEYS[i], value);
        }
      }
    }

    @Override
    public void close() {
      for (int i = 0; i < KEYS.length; i++) {
        if (before[i] == null) {
          MDC.remove(KEYS[i]);
        } else {
          MDC.put(KEYS[i], before[i]);
        }
      }
    }
  }
}
