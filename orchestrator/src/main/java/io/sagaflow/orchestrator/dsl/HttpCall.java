package io.sagaflow.orchestrator.dsl;

import java.util.Objects;
import java.util.function.Function;

/**
 * A step action that calls an HTTP participant by name. The participant's base URL comes from
 * configuration ({@code sagaflow.participants.<name>.url}), never from code.
 *
 * @param participant the participant's name, e.g. {@code payments}
 * @param method the HTTP method
 * @param path the path under the participant's base URL, built from the context
 * @param body the JSON body built from the context (any value Jackson can write); {@code null}
 *     function for no body
 */
public record HttpCall(
    String participant,
    String method,
    Function<StepContext, String> path,
    Function<StepContext, ?> body)
    implements StepAction {

  public HttpCall {
    Objects.requireNonNull(participant, "participant");
    Objects.requireNonNull(method, "method");
    Objects.requireNonNull(path, "path");
    if (!participant.matches("[a-z0-9][a-z0-9-]*")) {
      throw new IllegalArgumentException(
          "participant name must be lower-case letters, digits and '-', was '" + participant + "'");
    }
  }

  public static HttpCall post(String participant, String path) {
    return new HttpCall(participant, "POST", ctx -> path, null);
  }

  public static HttpCall post(String participant, Function<StepContext, String> path) {
    return new HttpCall(participant, "POST", path, null);
  }

  public static HttpCall put(String participant, Function<StepContext, String> path) {
    return new HttpCall(participant, "PUT", path, null);
  }

  public static HttpCall delete(String participant, Function<StepContext, String> path) {
    return new HttpCall(participant, "DELETE", path, null);
  }

  /** The same call with a JSON body built from the context. */
  public HttpCall withBody(Function<StepContext, ?> body) {
    return new HttpCall(participant, method, path, Objects.requireNonNull(body, "body"));
  }
}
