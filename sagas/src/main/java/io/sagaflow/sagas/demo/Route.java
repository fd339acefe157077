package io.sagaflow.sagas.demo;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One business operation of a demo service: a method and a path pattern whose {@code {name}}
 * segments bind path parameters, e.g. {@code /reservations/{orderId}/release}.
 */
record Route(String method, List<String> pattern, Handler handler) {

  /** Serves a call; throws {@link BadRequest} before changing anything when it cannot read it. */
  @FunctionalInterface
  interface Handler {
    Reply handle(Call call);
  }

  static Route post(String pattern, Handler handler) {
    return new Route("POST", segments(pattern), handler);
  }

  /** The path parameters when {@code path} (already split and decoded) fits the pattern. */
  Optional<Map<String, String>> match(List<String> path) {
    if (path.size() != pattern.size()) {
      return Optional.empty();
    }
    var params = new HashMap<String, String>();
    for (int i = 0; i < pattern.size(); i++) {
      String expected = pattern.get(i);
      if (expected.startsWith("{") && expected.endsWith("}")) {
        params.put(expected.substring(1, expected.length() - 1), path.get(i));
      } else if (!expected.equals(path.get(i))) {
        return Optional.empty();
      }
    }
    return Optional.of(params);
  }

  static List<String> segments(String path) {
    String trimmed = path.startsWith("/") ? path.substring(1) : path;
    return trimmed.isEmpty() ? List.of() : List.of(trimmed.split("/", -1));
  }
}
