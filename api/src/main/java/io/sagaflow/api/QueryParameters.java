package io.sagaflow.api;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A request's query parameters, read strictly: only those the operation documents, each at most
 * once. A parameter the node would ignore (a misspelt {@code limt}, a {@code sort} it does not
 * have, the second {@code limit} of two) would answer a question the client did not ask.
 */
final class QueryParameters {
  private QueryParameters() {}

  /**
   * The parameters by name, in the request's order.
   *
   * @param known the parameters the operation takes, none for most
   * @throws InvalidRequest 400 naming the first unknown or repeated parameter
   */
  static Map<String, String> check(List<Map.Entry<String, String>> parameters, List<String> known)
      throws InvalidRequest {
    var values = new LinkedHashMap<String, String>();
    for (Map.Entry<String, String> parameter : parameters) {
      String name = parameter.getKey();
      if (name.isEmpty() && parameter.getValue().isEmpty()) {
        // Nothing between two separators ("?limit=1&", "?&"): no parameter at all.
        continue;
      }
      if (!known.contains(name)) {
        throw new InvalidRequest(
            Problem.badRequest(
                known.isEmpty()
                    ? "this operation takes no query parameters; got '" + Problem.clip(name) + "'"
                    : "unknown query parameter '" + Problem.clip(name) + "'; expected " + known,
                Problem.clip(name)));
      }
      if (values.putIfAbsent(name, parameter.getValue()) != null) {
        throw new InvalidRequest(
            Problem.badRequest(
                "the query parameter '" + name + "' is given more than once; give it once", name));
      }
    }
    return values;
  }
}
