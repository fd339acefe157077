package io.sagaflow.orchestrator.dsl;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import java.lang.reflect.Type;
import java.util.Objects;

/**
 * A step's name and the type of its output, declared once and used both to declare the step and to
 * read its output from a later step:
 *
 * <pre>{@code
 * static final StepKey<Reservation> RESERVE = StepKey.of("reserve-stock", Reservation.class);
 * ...
 * .step(RESERVE, step -> step.invoke(...))
 * ...
 * ctx.output(RESERVE).reservationId()
 * }</pre>
 *
 * <p>The journal and the API keep the output as JSON. A step whose answer (a participant's 2xx
 * body, a local step's result) does not bind to the key's type is uncertain, like a 2xx whose body
 * cannot be read: it was applied, and its output is lost.
 *
 * @param <O> the output type; {@link JsonNode} for any JSON
 */
public final class StepKey<O> {
  private final String name;
  private final Type outputType;

  private StepKey(String name, Type outputType) {
    this.name = name;
    this.outputType = outputType;
  }

  /** A step whose output binds to {@code outputType} (typically a record). */
  public static <O> StepKey<O> of(String name, Class<O> outputType) {
    return new StepKey<>(name, outputType);
  }

  /**
   * A step whose output binds to a generic type, e.g. {@code new TypeReference<List<Seat>>() {}}.
   */
  public static <O> StepKey<O> of(String name, TypeReference<O> outputType) {
    return new StepKey<>(name, outputType == null ? null : outputType.getType());
  }

  /** A step whose output is any JSON, read as a {@link JsonNode}. */
  public static StepKey<JsonNode> json(String name) {
    return new StepKey<>(name, JsonNode.class);
  }

  public String name() {
    return name;
  }

  /** The type the output binds to ({@code JsonNode} for any JSON); null is a build() error. */
  public Type outputType() {
    return outputType;
  }

  /** Whether the output is taken as any JSON, without binding. */
  public boolean isJson() {
    return outputType == JsonNode.class;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof StepKey<?> k
        && Objects.equals(name, k.name)
        && outputType.equals(k.outputType);
  }

  @Override
  public int hashCode() {
    return Objects.hash(name, outputType);
  }

  @Override
  public String toString() {
    return "StepKey{" + name + ": " + (outputType == null ? "?" : outputType.getTypeName()) + "}";
  }
}
