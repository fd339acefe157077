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
  private final List<Stage> stages;
  private final List<Step> steps;
  // Every saga's view lists them (a start's reply included): computed once.
  private final List<String> stepNames;
  private final Optional<Duration> deadline;

  private SagaDefinition(
      String name, int version, Class<I> inputType, List<Stage> stages, Duration deadline) {
    this.name = name;
    this.version = version;
    this.inputType = inputType;
    this.stages = List.copyOf(stages);
    this.steps = this.stages.stream().flatMap(s -> s.steps().stream()).toList();
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

  /** Every step, a group's branches included, in the order they were declared. */
  public List<Step> steps() {
    return steps;
  }

  /** The stages in order: single steps and parallel groups. */
  public List<Stage> stages() {
    return stages;
  }

  /** The stage of this name (a step's or a group's), if there is one. */
  public Optional<Stage> stage(String stageName) {
    return stages.stream().filter(s -> s.name().equals(stageName)).findFirst();
  }

  /** The stage after the one of this name, if any. */
  public Optional<Stage> stageAfter(String stageName) {
    for (int i = 0; i < stages.size() - 1; i++) {
      if (stages.get(i).name().equals(stageName)) {
        return Optional.of(stages.get(i + 1));
      }
    }
    return Optional.empty();
  }

  /**
   * The step of this name, a group's branch included; for an element of a fan-out ({@code
   * {step}/{key}}), the fan-out step. Empty for a group's own name and for names of no step.
   */
  public Optional<Step> findStep(String stepName) {
    int slash = stepName.indexOf('/');
    String own = slash < 0 ? stepName : stepName.substring(0, slash);
    for (Step s : steps) {
      if (s.name().equals(own) && (slash < 0 || s.fanOut().isPresent())) {
        return Optional.of(s);
      }
    }
    return Optional.empty();
  }

  public Optional<Duration> deadline() {
    return deadline;
  }

  /** The step of this name, as {@link #findStep} finds it. */
  public Step step(String stepName) {
    return findStep(stepName)
        .orElseThrow(
            () ->
                new IllegalArgumentException("saga '" + name + "' has no step '" + stepName + "'"));
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

  /** The names of the signals its steps wait for, in step order. */
  public List<String> signals() {
    return steps().stream()
        .map(Step::action)
        .filter(a -> a instanceof AwaitSignal<?>)
        .map(a -> ((AwaitSignal<?>) a).name())
        .distinct()
        .toList();
  }

  /** The step that waits for {@code signal}, if one does (the first, should several). */
  public Optional<Step> signalStep(String signal) {
    return steps().stream()
        .filter(s -> s.action() instanceof AwaitSignal<?> a && a.name().equals(signal))
        .findFirst();
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
    // The group each entry of steps starts (its name), or null: a group is its branches in a row.
    private final List<GroupSpec> groups = new ArrayList<>();
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
      add(described.copy(), null);
      return this;
    }

    private void add(StepBuilder<? super I, ?> step, GroupSpec group) {
      steps.add(step);
      groups.add(group);
    }

    /**
     * Adds a parallel group {@code name}: its branches, described by {@code spec}, start together
     * once the stage before it has succeeded, and the next stage starts when every branch has
     * succeeded. When a branch is rejected or uncertain, no further branch starts, the branches in
     * flight finish their current attempt, then the group's branches that succeeded (or may have)
     * are compensated together, then the steps before the group, newest first. A group cannot hold
     * the pivot; after the pivot its branches are retriable.
     */
    public Builder<I> group(String name, UnaryOperator<GroupBuilder<I>> spec) {
      if (spec == null) {
        problems.add("group(" + name + ", null): pass a function that adds the branches");
        return this;
      }
      GroupBuilder<I> described;
      try {
        described = spec.apply(new GroupBuilder<>());
      } catch (RuntimeException e) {
        problems.add("group '" + name + "': describing it threw " + e);
        return this;
      }
      if (described == null) {
        problems.add("group '" + name + "': its description returned null");
        return this;
      }
      var group = new GroupSpec(name, described.steps().size(), described.problems());
      if (described.steps().isEmpty()) {
        steps.add(null);
        groups.add(group);
      }
      for (StepBuilder<? super I, ?> branch : described.steps()) {
        add(branch, group);
      }
      return this;
    }

    /** A group as its builder described it; the same object marks each of its branches. */
    private record GroupSpec(String name, int size, List<String> problems) {}

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
        add(step.copy(), null);
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
      var stages = new ArrayList<Stage>();
      var branches = new ArrayList<Step>();
      boolean afterPivot = false;
      for (int i = 0; i < steps.size(); i++) {
        StepBuilder<? super I, ?> step = steps.get(i);
        GroupSpec group = groups.get(i);
        boolean firstOfGroup = group != null && (i == 0 || groups.get(i - 1) != group);
        boolean lastOfGroup =
            group != null && (i + 1 == steps.size() || groups.get(i + 1) != group);
        if (firstOfGroup) {
          checkGroup(where, group, names, found);
        }
        if (step == null) {
          continue; // a group without branches, reported by checkGroup
        }
        String stepName = step.name();
        String here =
            where
                + (group == null ? "" : " group '" + group.name() + "'")
                + " step '"
                + stepName
                + "'";
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
        if (group != null && step.markedPivot()) {
          found.add(
              here
                  + ": is the pivot, which cannot be inside a parallel group: the point of no"
                  + " return is one step, called alone");
        } else if (group != null && step.isFanOut()) {
          found.add(here + ": a branch of a parallel group cannot be a fan-out");
        } else if (group != null && step.isSignal()) {
          found.add(
              here
                  + ": a branch of a parallel group cannot wait for a signal; wait before the group");
        }
        try {
          Step s =
              step.build(
                  afterPivot,
                  stepDefault.orElseThrow(),
                  compensationDefault.orElseThrow(),
                  defaultTimeout);
          if (group == null) {
            afterPivot |= s.kind() == StepKind.PIVOT;
            stages.add(new Stage(s.name(), false, List.of(s)));
          } else {
            branches.add(s.inGroup(group.name()));
          }
        } catch (IllegalArgumentException e) {
          found.add(here + ": " + e.getMessage());
        }
        if (lastOfGroup) {
          if (!branches.isEmpty()) {
            stages.add(new Stage(group.name(), true, branches));
          }
          branches = new ArrayList<>();
        }
      }
      if (!found.isEmpty()) {
        throw new IllegalArgumentException(String.join("\n", found));
      }
      return new SagaDefinition<>(name, version, inputType, stages, deadline);
    }

    private static void checkGroup(
        String where, GroupSpec group, java.util.Set<String> names, List<String> found) {
      String here = where + " group '" + group.name() + "'";
      group.problems().forEach(p -> found.add(here + ": " + p));
      if (group.name() == null || !group.name().matches("[a-z0-9][a-z0-9._-]{0,99}")) {
        found.add(
            where
                + ": group name '"
                + group.name()
                + "' must be 1-100 lower-case letters, digits, '.', '_' or '-'");
      } else if (!names.add(group.name())) {
        found.add(here + ": its name is already a step's or a group's");
      }
      if (group.size() < 2) {
        found.add(
            here
                + ": has "
                + group.size()
                + " branch"
                + (group.size() == 1 ? "" : "es")
                + "; a parallel group needs at least two (one step alone is a step)");
      }
    }
  }
}
