package io.sagaflow.orchestrator.dsl;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * An immutable, validated saga definition: a name, an integer version, an input type and an ordered
 * list of steps. Build one with {@link #builder(String, Class)} (a typed input) or {@link
 * #builder(String)} (any JSON object).
 *
 * @param <I> the input type every start must bind to; {@link JsonNode} accepts any JSON object
 */
public final class SagaDefinition<I> {

  private static final ObjectMapper INPUT_MAPPER =
      new ObjectMapper()
          .findAndRegisterModules()
          .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
          .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private final String name;
  private final int version;
  private final Class<I> inputType;
  private final List<Step> steps;
  // Every saga's view lists them (a start's reply included): computed once.
  private final List<String> stepNames;
  private final Optional<Duration> deadline;

  private SagaDefinition(
      String name, int version, Class<I> inputType, List<Step> steps, Duration deadline) {
    this.name = name;
    this.version = version;
    this.inputType = inputType;
    this.steps = List.copyOf(steps);
    this.stepNames = this.steps.stream().map(Step::name).toList();
    this.deadline = Optional.ofNullable(deadline);
  }

  /** A definition whose input is any JSON object, which its steps read as a {@link JsonNode}. */
  public static Builder<JsonNode> builder(String name) {
    return new Builder<>(name, JsonNode.class);
  }

  /**
   * A definition whose input binds to {@code inputType} (typically a record): checked once at start
   * (a start that does not bind is refused, naming the field), and read by every step as {@code
   * ctx.input()}.
   */
  public static <I> Builder<I> builder(String name, Class<I> inputType) {
    return new Builder<>(name, inputType);
  }

  public String name() {
    return name;
  }

  public int version() {
    return version;
  }

  /** The type the input must bind to; {@code JsonNode} accepts any JSON object. */
  public Class<I> inputType() {
    return inputType;
  }

  /**
   * The input bound to the input type.
   *
   * @throws IllegalArgumentException when it does not bind (a start is checked with {@link
   *     #validateInput} first, so a saga's own input always does)
   */
  public I bindInput(JsonNode input) {
    if (inputType == JsonNode.class) {
      return inputType.cast(input);
    }
    try {
      return INPUT_MAPPER.treeToValue(input, inputType);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IllegalArgumentException(
          "saga '"
              + name
              + "': input does not bind to "
              + inputType.getSimpleName()
              + ": "
              + withoutClassNames(e.getOriginalMessage()),
          e);
    }
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

  /** The two policies composed: {@code override} applied after {@code earlier}. */
  static UnaryOperator<RetryPolicy.Builder> refine(
      UnaryOperator<RetryPolicy.Builder> earlier, UnaryOperator<RetryPolicy.Builder> override) {
    return b -> override.apply(earlier.apply(b));
  }

  /**
   * {@code override} applied to {@code base}, or empty with the problem added to {@code problems}
   * (an invalid value, or an exception thrown by the override itself).
   */
  static Optional<RetryPolicy> policy(
      String what,
      UnaryOperator<RetryPolicy.Builder> override,
      RetryPolicy base,
      List<String> problems) {
    try {
      RetryPolicy.Builder adjusted = override.apply(base.toBuilder());
      if (adjusted == null) {
        problems.add(what + " policy: the function returned null instead of the builder");
        return Optional.empty();
      }
      return Optional.of(adjusted.build());
    } catch (RuntimeException e) {
      problems.add(what + " policy: " + e.getMessage());
      return Optional.empty();
    }
  }

  /**
   * Collects a definition; {@link #build()} validates it whole. Nothing here throws: every problem
   * is reported by {@code build()}, naming the saga and the step.
   *
   * @param <I> the input type
   */
  public static final class Builder<I> {
    private final String name;
    private final Class<I> inputType;
    private int version = 1;
    private final List<StepBuilder<? super I, ?>> steps = new ArrayList<>();
    private UnaryOperator<RetryPolicy.Builder> defaultRetry = UnaryOperator.identity();
    private UnaryOperator<RetryPolicy.Builder> compensationRetry = UnaryOperator.identity();
    private Duration defaultTimeout = Duration.ofSeconds(10);
    private Duration deadline;
    private final List<String> problems = new ArrayList<>();

    private Builder(String name, Class<I> inputType) {
      this.name = name;
      this.inputType = inputType;
      if (inputType == null) {
        problems.add("input type is null: pass a class, or use builder(name) for any JSON");
      }
    }

    public Builder<I> version(int version) {
      this.version = version;
      return this;
    }

    /**
     * Refines the retry policy every step starts from ({@link RetryPolicy#DEFAULT}); a second call
     * refines the first.
     */
    public Builder<I> defaultRetry(UnaryOperator<RetryPolicy.Builder> override) {
      if (override == null) {
        problems.add("defaultRetry(null): pass a function that adjusts the policy");
      } else {
        this.defaultRetry = refine(defaultRetry, override);
      }
      return this;
    }

    /**
     * Refines the retry policy every compensation starts from ({@link
     * RetryPolicy#COMPENSATION_DEFAULT}); a second call refines the first.
     */
    public Builder<I> compensationRetry(UnaryOperator<RetryPolicy.Builder> override) {
      if (override == null) {
        problems.add("compensationRetry(null): pass a function that adjusts the policy");
      } else {
        this.compensationRetry = refine(compensationRetry, override);
      }
      return this;
    }

    /** The per-attempt timeout of steps that set none (default 10 s). */
    public Builder<I> defaultTimeout(Duration timeout) {
      if (timeout == null) {
        problems.add("defaultTimeout(null): pass a positive duration");
      } else {
        this.defaultTimeout = timeout;
      }
      return this;
    }

    /** How long the saga may run before it is compensated (only before its pivot). */
    public Builder<I> deadline(Duration deadline) {
      if (deadline == null) {
        problems.add("deadline(null): pass a positive duration, or leave the deadline unset");
      } else {
        this.deadline = deadline;
      }
      return this;
    }

    /**
     * Adds the step {@code key} names, described by {@code spec}, whose actions see the input as
     * {@code I} and whose output binds to the key's type.
     */
    public <O> Builder<I> step(StepKey<O> key, UnaryOperator<StepBuilder<I, O>> spec) {
      if (key == null || spec == null) {
        problems.add(
            "step("
                + (key == null ? "null" : key.name())
                + ", ...): "
                + "a step needs a key and a description");
        return this;
      }
      StepBuilder<I, O> described;
      try {
        described = spec.apply(new StepBuilder<>(key));
      } catch (RuntimeException e) {
        problems.add("step '" + key.name() + "': describing it threw " + e);
        return this;
      }
      if (described == null) {
        problems.add(
            "step '" + key.name() + "': its description returned null instead of the step");
        return this;
      }
      steps.add(described.copy());
      return this;
    }

    /** Adds a step whose output is any JSON, described by {@code spec}. */
    public Builder<I> step(String name, UnaryOperator<StepBuilder<I, JsonNode>> spec) {
      return step(StepKey.json(name), spec);
    }

    /**
     * Adds a step described elsewhere ({@link Step#named}, {@link Step#of}). The builder is copied:
     * changing it afterwards changes nothing here.
     */
    public Builder<I> step(StepBuilder<? super I, ?> step) {
      if (step == null) {
        problems.add("step(null): pass a step description");
      } else {
        steps.add(step.copy());
      }
      return this;
    }

    /**
     * Validates the definition and returns it.
     *
     * @throws IllegalArgumentException naming the saga, the step and every problem found
     */
    public SagaDefinition<I> build() {
      String where = "saga '" + name + "'";
      var found = new ArrayList<String>();
      for (String problem : problems) {
        found.add(where + ": " + problem);
      }
      if (name == null || !name.matches("[a-z0-9][a-z0-9._-]{0,99}")) {
        found.add(where + ": name must be 1-100 lower-case letters, digits, '.', '_' or '-'");
      }
      if (version < 1) {
        found.add(where + ": version must be at least 1, was " + version);
      }
      if (steps.isEmpty()) {
        found.add(where + ": has no steps");
      }
      if (deadline != null && (deadline.isNegative() || deadline.isZero())) {
        found.add(where + ": deadline must be positive, was " + deadline);
      }
      if (defaultTimeout.isNegative() || defaultTimeout.isZero()) {
        found.add(where + ": default timeout must be positive, was " + defaultTimeout);
      }
      var definitionProblems = new ArrayList<String>();
      Optional<RetryPolicy> stepDefault =
          policy("default retry", defaultRetry, RetryPolicy.DEFAULT, definitionProblems);
      Optional<RetryPolicy> compensationDefault =
          policy(
              "compensation retry",
              compensationRetry,
              RetryPolicy.COMPENSATION_DEFAULT,
              definitionProblems);
      definitionProblems.forEach(p -> found.add(where + ": " + p));
      if (!found.isEmpty()) {
        throw new IllegalArgumentException(String.join("\n", found));
      }
      var names = new HashSet<String>();
      var built = new ArrayList<Step>();
      boolean afterPivot = false;
      for (StepBuilder<? super I, ?> step : steps) {
        String stepName = step.name();
        String here = where + " step '" + stepName + "'";
        if (stepName == null || !stepName.matches("[a-z0-9][a-z0-9._-]{0,99}")) {
          found.add(
              where
                  + ": step name '"
                  + stepName
                  + "' must be 1-100 lower-case letters, digits, '.', '_' or '-'");
          continue;
        }
        if (!names.add(stepName)) {
          found.add(here + ": duplicate step name");
          continue;
        }
        try {
          Step s =
              step.build(
                  afterPivot,
                  stepDefault.orElseThrow(),
                  compensationDefault.orElseThrow(),
                  defaultTimeout);
          afterPivot |= s.kind() == StepKind.PIVOT;
          built.add(s);
        } catch (IllegalArgumentException e) {
          found.add(here + ": " + e.getMessage());
        }
      }
      if (!found.isEmpty()) {
        throw new IllegalArgumentException(String.join("\n", found));
      }
      return new SagaDefinition<>(name, version, inputType, built, deadline);
    }
  }
}
