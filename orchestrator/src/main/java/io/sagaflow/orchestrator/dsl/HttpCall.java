package io.sagaflow.orchestrator.dsl;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;

/**
 * A step action that calls an HTTP participant by name. The participant's base URL comes from
 * configuration ({@code sagaflow.participants.<name>.url}), never from code. The saga's {@code
 * build()} checks the call; nothing is checked before.
 *
 * <p>Pass the body as the last argument ({@code HttpCall.post("inventory", "/reservations", ctx ->
 * ...)}): its {@code ctx} is then typed with the saga's input. {@link #withBody} does the same for
 * a call built separately, but Java cannot infer the input type through a chained call, so its
 * {@code ctx} is a {@code StepContext<Object>} unless the call is typed ({@code
 * HttpCall.<OrderInput>post(...)}).
 *
 * @param participant the participant's name, e.g. {@code payments}
 * @param method the HTTP method: POST, PUT, PATCH, DELETE or GET
 * @param path the path under the participant's base URL, built from the context
 * @param body the JSON body built from the context (any value Jackson can write); {@code null} for
 *     no body
 * @param <I> the saga's input type
 */
public record HttpCall<I>(
    String participant,
    String method,
    Function<StepContext<I>, String> path,
    Function<StepContext<I>, ?> body)
    implements StepAction<I> {

  /** The methods a step may use. */
  public static final Set<String> METHODS = Set.of("POST", "PUT", "PATCH", "DELETE", "GET");

  public static <I> HttpCall<I> post(String participant, String path) {
    return new HttpCall<>(participant, "POST", fixed(path), null);
  }

  public static <I> HttpCall<I> post(String participant, Function<StepContext<I>, String> path) {
    return new HttpCall<>(participant, "POST", path, null);
  }

  public static <I> HttpCall<I> post(
      String participant, String path, Function<StepContext<I>, ?> body) {
    return new HttpCall<>(participant, "POST", fixed(path), body);
  }

  public static <I> HttpCall<I> post(
      String participant, Function<StepContext<I>, String> path, Function<StepContext<I>, ?> body) {
    return new HttpCall<>(participant, "POST", path, body);
  }

  public static <I> HttpCall<I> put(String participant, Function<StepContext<I>, String> path) {
    return new HttpCall<>(participant, "PUT", path, null);
  }

  public static <I> HttpCall<I> put(
      String participant, Function<StepContext<I>, String> path, Function<StepContext<I>, ?> body) {
    return new HttpCall<>(participant, "PUT", path, body);
  }

  public static <I> HttpCall<I> patch(
      String participant, Function<StepContext<I>, String> path, Function<StepContext<I>, ?> body) {
    return new HttpCall<>(participant, "PATCH", path, body);
  }

  public static <I> HttpCall<I> delete(String participant, Function<StepContext<I>, String> path) {
    return new HttpCall<>(participant, "DELETE", path, null);
  }

  /** The same call with a JSON body built from the context. */
  public HttpCall<I> withBody(Function<StepContext<I>, ?> body) {
    return new HttpCall<>(participant, method, path, body);
  }

  /** What is wrong with this call, if anything; {@code role} says which action it is. */
  List<String> problems(String role) {
    var problems = new ArrayList<String>();
    if (participant == null || !participant.matches("[a-z0-9][a-z0-9-]{0,62}")) {
      problems.add(
          role
              + " calls participant '"
              + participant
              + "': a participant name is 1-63 lower-case letters, digits and '-'");
    }
    if (method == null || !METHODS.contains(method)) {
      problems.add(role + " uses method '" + method + "'; it must be one of " + sorted(METHODS));
    }
    if (path == null) {
      problems.add(role + " has no path");
    }
    return problems;
  }

  private static <I> Function<StepContext<I>, String> fixed(String path) {
    return path == null ? null : ctx -> path;
  }

  private static List<String> sorted(Set<String> values) {
    return values.stream().sorted().toList();
  }

  @Override
  public String toString() {
    return "HttpCall[" + method + " " + participant + "]";
  }
}
