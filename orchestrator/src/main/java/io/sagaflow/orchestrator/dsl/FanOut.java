package io.sagaflow.orchestrator.dsl;

import java.util.List;
import java.util.function.Function;

/**
 * How a fan-out step runs once per element of a list: where the list comes from (the input or an
 * earlier step's output), each element's key (its branch is {@code {step}/{key}}, so its calls
 * carry {@code Idempotency-Key: {sagaId}/{step}/{key}}), how many elements run at a time and how
 * long the list may be. Made by {@link StepBuilder#forEach}.
 *
 * @param list the elements, computed from the step's context (the same input and outputs always
 *     give the same list: it is computed again after a restart)
 * @param key an element's key: 1-100 letters, digits, '.', '_', ':' or '-', unique in the list
 * @param maxConcurrency how many elements run at a time
 * @param maxElements a longer list rejects the step
 */
public record FanOut(
    Function<StepContext<?>, List<?>> list,
    Function<Object, String> key,
    int maxConcurrency,
    int maxElements) {

  /** The default {@code maxElements}: every element is named in the journal event that starts. */
  public static final int DEFAULT_MAX_ELEMENTS = 1000;

  /** The default {@code maxConcurrency}. */
  public static final int DEFAULT_MAX_CONCURRENCY = 8;

  /** What an element key may be. */
  public static final String KEY_PATTERN = "[A-Za-z0-9._:-]{1,100}";
}
