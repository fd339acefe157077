package io.sagaflow.orchestrator.dsl;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * An immutable, validated saga definition: a name, an integer version, an input type and an ordered
 * list of steps. Build one with {@link #builder(String)}.
 */
public final class SagaDefinition {

  private static final ObjectMapper INPUT_MAPPER =
      new ObjectMapper()
          .findAndRegisterModules()
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private final String name;
  private final int version;
  private final Class<?> inputType;
  private final List<Step> steps;
  // Every saga's view lists them (a start's reply included): computed once.
  private final List<String> stepNames;
  private final Optional<Duration> deadline;

  private SagaDefinition(
      String name, int version, Class<?> inputType, List<Step> steps, Duration deadline) {
    this.name = name;
    this.version = version;
    this.inputType = inputType;
    this.steps = List.copyOf(steps);
    this.stepNames = this.steps.stream().map(Step::name).toList();
    this.deadline = Optional.ofNullable(deadline);
  }

  public static Builder builder(String name) {
    return new Builder(name);
  }

  public String name() {
    return name;
  }

  public int version() {
    return version;
  }

  /** The type the input must bind to; {@code JsonNode} accepts any JSON object. */
  public Class<?> inputType() {
    return inputType;
  }

  public List<Step> steps() {
    return steps;
  }

  public Optional<Duration> deadline() {
    return deadline;
  }

  public Step step(String stepName) {
    return steps.stream()
        .filter(s -> s.name().equals(stepName))
        .findFirst()
        .orElseThrow(
            () ->
                new IllegalArgumentException("saga '" + name + "' has no step '" + stepName + "'"));
  }

  /** The step after the given one, if any. */
  public Optional<Step> stepAfter(String stepName) {
    for (int i = 0; i < steps.size() - 1; i++) {
      if (steps.get(i).name().equals(stepName)) {
        return Optional.of(steps.get(i + 1));
      }
    }
    return Optional.empty();
  }

  /**
   * Checks an input against the definition's input type.
   *
   * @return the problem, or empty when the input is acceptable
   */
  public Optional<String> validateInput(JsonNode input) {
    if (input == null || !input.isObject()) {
      return Optional.of("input must be a JSON object");
    }
    if (inputType == JsonNode.class) {
      return Optional.empty();
    }
    try {
      INPUT_MAPPER.treeToValue(input, inputType);
      return Optional.empty();
    } catch (com.fasterxml.jackson.databind.JsonMappingException e) {
      Throwable cause = e;
      while (cause.getCause() != null && cause.getCause() != cause) {
        cause = cause.getCause();
      }
      String detail =
          cause instanceof IllegalArgumentException
              ? cause.getMessage()
              : e.getOriginalMessage().replaceAll(" \\(set DeserializationConfig.*\\)", "");
      String field =
          e.getPath().stream()
              .map(r -> r.getFieldName() != null ? r.getFieldName() : "[" + r.getIndex() + "]")
              .collect(java.util.stream.Collectors.joining("."));
      return Optional.of(
          "input does not match "
              + inputType.getSimpleName()
              + (field.isEmpty() || cause instanceof IllegalArgumentException
                  ? ""
                  : " at '" + field + "'")
              + ": "
              + withoutClassNames(detail));
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      return Optional.of(
          "input does not match "
              + inputType.getSimpleName()
              + ": "
              + withoutClassNames(e.getOriginalMessage()));
    }
  }

  /**
   * A verdict on an input as a client may read it: Jackson's binding messages name Java classes
   * ("(class io.example.Input$Line)", "`java.lang.String`", "(token `JsonToken.X`)").
   */
  private static String withoutClassNames(String detail) {
    return detail
        .replaceAll("\\s*\\((?:class|token) [^)]*\\)", "")
        .replaceAll(
            "(?:[a-z_][a-z0-9_]*\\.){2,}(?:[A-Z][A-Za-z0-9_]*\\$)*([A-Z][A-Za-z0-9_]*)", "$1");
  }

  @Override
  public String toString() {
    return "SagaDefinition{" + name + " v" + version + ", steps=" + stepNames() + "}";
  }

  public List<String> stepNames() {
    return stepNames;
  }

  /** Collects a definition; {@link #build()} validates it whole. */
  public static final class Builder {
    private final String name;
    private int version = 1;
    private Class<?> inputType = JsonNode.class;
    private final List<StepBuilder> steps = new ArrayList<>();
    private UnaryOperator<RetryPolicy.Builder> defaultRetry = UnaryOperator.identity();
    private UnaryOperator<RetryPolicy.Builder> compensationRetry =
        b ->
            b.maxAttempts(10).minBackoff(Duration.ofMillis(500)).maxBackoff(Duration.ofSeconds(30));
    private Duration defaultTimeout = Duration.ofSeconds(10);
    private Duration deadline;

    private Builder(String name) {
      this.name = name;
    }

    public Builder version(int version) {
      this.version = version;
      return this;
    }

    /** A type (typically a record) that every input must bind to; checked at start. */
    public Builder inputType(Class<?> inputType) {
      this.inputType = Objects.requireNonNull(inputType, "inputType");
      return this;
    }

    /** Adjusts the retry policy every step starts from. */
    public Builder defaultRetry(UnaryOperator<RetryPolicy.Builder> override) {
      this.defaultRetry = Objects.requireNonNull(override, "override");
      return this;
    }

    /** Adjusts the retry policy every compensation starts from. */
    public Builder compensationRetry(UnaryOperator<RetryPolicy.Builder> override) {
      this.compensationRetry = Objects.requireNonNull(override, "override");
      return this;
    }

    /** The per-attempt timeout of steps that set none (default 10 s). */
    public Builder defaultTimeout(Duration timeout) {
      this.defaultTimeout = Objects.requireNonNull(timeout, "timeout");
      return this;
    }

    /** How long the saga may run before it is compensated (only before its pivot). */
    public Builder deadline(Duration deadline) {
      this.deadline = Objects.requireNonNull(deadline, "deadline");
      return this;
    }

    public Builder step(StepBuilder step) {
      steps.add(Objects.requireNonNull(step, "step"));
      return this;
    }

    /**
     * Validates the definition and returns it.
     *
     * @throws IllegalArgumentException naming the saga, the step and the problem
     */
    public SagaDefinition build() {
      String where = "saga '" + name + "'";
      if (name == null || !name.matches("[a-z0-9][a-z0-9._-]{0,99}")) {
        throw new IllegalArgumentException(
            where + ": name must be 1-100 lower-case letters, digits, '.', '_' or '-'");
      }
      if (version < 1) {
        throw new IllegalArgumentException(where + ": version must be at least 1, was " + version);
      }
      if (steps.isEmpty()) {
        throw new IllegalArgumentException(where + ": has no steps");
      }
      if (deadline != null && (deadline.isNegative() || deadline.isZero())) {
        throw new IllegalArgumentException(where + ": deadline must be positive, was " + deadline);
      }
      RetryPolicy stepDefault = policy(where + ": default retry policy", defaultRetry);
      RetryPolicy compensationDefault =
          policy(where + ": compensation retry policy", compensationRetry);
      if (defaultTimeout.isNegative() || defaultTimeout.isZero()) {
        throw new IllegalArgumentException(
            where + ": default timeout must be positive, was " + defaultTimeout);
      }
      var names = new HashSet<String>();
      var built = new ArrayList<Step>();
      boolean afterPivot = false;
      for (StepBuilder step : steps) {
        String stepName = step.name();
        if (stepName == null || !stepName.matches("[a-z0-9][a-z0-9._-]{0,99}")) {
          throw new IllegalArgumentException(
              where
                  + ": step name '"
                  + stepName
                  + "' must be 1-100 lower-case letters, digits, '.', '_' or '-'");
        }
        if (!names.add(stepName)) {
          throw new IllegalArgumentException(
              where + " step '" + stepName + "': duplicate step name");
        }
        Step s;
        try {
          s = step.build(afterPivot, stepDefault, compensationDefault, defaultTimeout);
        } catch (IllegalArgumentException e) {
          throw new IllegalArgumentException(
              where + " step '" + stepName + "': " + e.getMessage(), e);
        }
        if (s.kind() == StepKind.PIVOT) {
          if (afterPivot) {
            throw new IllegalArgumentException(
                where + " step '" + stepName + "': a saga has at most one pivot");
          }
          afterPivot = true;
        }
        built.add(s);
      }
      return new SagaDefinition(name, version, inputType, built, deadline);
    }

    private static RetryPolicy policy(String what, UnaryOperator<RetryPolicy.Builder> override) {
      try {
        return override.apply(RetryPolicy.DEFAULT.toBuilder()).build();
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(what + ": " + e.getMessage(), e);
      }
    }
  }
}
