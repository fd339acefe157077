package io.sagaflow.orchestrator.dsl;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * A step action that calls nobody: the step waits for the signal {@code name}, which an outside
 * party (a person approving, a callback) delivers with {@code POST /v1/sagas/{id}/signals/{name}}
 * and a JSON payload. The payload becomes the step's output, or rejects the step when {@link
 * #rejectIf} says so (the saga then compensates, as for any rejected step). A signal that arrives
 * before the saga reaches the step is kept until it does. The step's {@code timeout} bounds the
 * wait from the moment the step is due: when it passes with no signal the step is rejected. A
 * signal step is never compensated (waiting changes nothing) and cannot be a branch of a group.
 *
 * @param <I> the saga's input type, as {@link #onlyIf} sees it
 */
public final class AwaitSignal<I> implements StepAction<I> {
  /** What a signal's name may be: it is a path segment of the API. */
  public static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,100}");

  private final String name;
  private final Predicate<StepContext<I>> onlyIf;
  private final Class<?> payloadType;
  private final Predicate<Object> reject;
  private final Function<Object, String> reason;

  private AwaitSignal(
      String name,
      Predicate<StepContext<I>> onlyIf,
      Class<?> payloadType,
      Predicate<Object> reject,
      Function<Object, String> reason) {
    this.name = name;
    this.onlyIf = onlyIf;
    this.payloadType = payloadType;
    this.reject = reject;
    this.reason = reason;
  }

  /** Waits for the signal {@code name}: 1-100 letters, digits, '.', '_' or '-'. */
  public static <I> AwaitSignal<I> named(String name) {
    return new AwaitSignal<>(name, null, null, null, null);
  }

  /**
   * Waits only when {@code needed} holds when the saga reaches the step (e.g. an amount over a
   * threshold); otherwise the step succeeds at once with no output. It reads the input and earlier
   * outputs only, so a restart decides the same.
   */
  public AwaitSignal<I> onlyIf(Predicate<StepContext<I>> needed) {
    return new AwaitSignal<>(name, needed, payloadType, reject, reason);
  }

  /**
   * Rejects the step when {@code rule} holds for the payload, read as {@code type}, with {@code
   * reason(payload)} as its error (e.g. an approval that says no). A payload that cannot be read as
   * {@code type} rejects the step too, naming what is wrong with it.
   */
  @SuppressWarnings("unchecked")
  public <P> AwaitSignal<I> rejectIf(
      Class<P> type, Predicate<? super P> rule, Function<? super P, String> reason) {
    return new AwaitSignal<>(
        name,
        onlyIf,
        type,
        rule == null ? null : p -> rule.test((P) p),
        reason == null ? null : p -> reason.apply((P) p));
  }

  public String name() {
    return name;
  }

  /** The condition for waiting at all; empty: always. */
  public Optional<Predicate<StepContext<I>>> onlyIf() {
    return Optional.ofNullable(onlyIf);
  }

  /** The type the rejection rule reads the payload as; empty when there is no rule. */
  public Optional<Class<?>> payloadType() {
    return Optional.ofNullable(payloadType);
  }

  /** The reason the payload (read as {@link #payloadType}) rejects the step, if it does. */
  public Optional<String> rejection(Object payload) {
    if (reject == null || !reject.test(payload)) {
      return Optional.empty();
    }
    String why = reason.apply(payload);
    return Optional.of(why == null || why.isBlank() ? "the signal '" + name + "' says no" : why);
  }

  /** What is wrong with this action, each as a sentence about {@code where}. */
  List<String> problems(String where) {
    var found = new ArrayList<String>();
    if (name == null || !NAME.matcher(name).matches()) {
      found.add(
          where
              + " waits for a signal named "
              + (name == null ? "null" : "'" + name + "'")
              + ": a name is 1-100 letters, digits, '.', '_' or '-'");
    }
    if (payloadType != null && (reject == null || reason == null)) {
      found.add(where + " has rejectIf(...) without a rule or a reason");
    }
    return found;
  }

  @Override
  public String toString() {
    return "AwaitSignal[" + name + "]";
  }
}
