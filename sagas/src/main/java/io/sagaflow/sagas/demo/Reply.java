package io.sagaflow.sagas.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a demo service answers: a status, a JSON body (a problem document for errors) and extra
 * headers. {@code outcome} is a short word for the log line, never the payload.
 */
record Reply(
    int status, JsonNode body, boolean problem, Map<String, String> headers, String outcome) {

  static final String PROBLEM_TYPE_PREFIX = "urn:sagaflow:demo:";

  Reply {
    headers = Map.copyOf(headers);
  }

  static Reply ok(JsonNode body) {
    return new Reply(200, body, false, Map.of(), "");
  }

  static Reply created(JsonNode body) {
    return new Reply(201, body, false, Map.of(), "");
  }

  static Reply accepted(JsonNode body) {
    return new Reply(202, body, false, Map.of(), "");
  }

  static Reply noContent() {
    return new Reply(204, null, false, Map.of(), "");
  }

  /** An RFC 9457 problem; {@code type} is a short slug such as {@code out-of-stock}. */
  static Reply problem(int status, String type, String title, String detail) {
    ObjectNode body =
        ServiceEndpoint.JSON
            .createObjectNode()
            .put("type", PROBLEM_TYPE_PREFIX + type)
            .put("title", title)
            .put("status", status)
            .put("detail", detail);
    return new Reply(status, body, true, Map.of(), type);
  }

  Reply withHeader(String name, String value) {
    var all = new LinkedHashMap<>(headers);
    all.put(name, value);
    return new Reply(status, body, problem, all, outcome);
  }

  Reply withOutcome(String outcome) {
    return new Reply(status, body, problem, headers, outcome);
  }
}
