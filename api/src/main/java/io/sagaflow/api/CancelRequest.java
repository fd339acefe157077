package io.sagaflow.api;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A cancel as the API accepts it: {@code POST /v1/sagas/{id}/cancel} {@code {reason?}}. As in a
 * start, an optional field sent as JSON null is refused: leave it out instead.
 */
record CancelRequest(String reason) {

  /** The cancel that {@code body} asks for; a null body (none was sent) gives no reason. */
  static CancelRequest parse(JsonNode body) throws InvalidRequest {
    if (body == null) {
      return new CancelRequest("");
    }
    if (!body.isObject()) {
      throw new InvalidRequest(Problem.badRequest("the body must be a JSON object", null));
    }
    JsonNode reason = body.get("reason");
    if (reason == null) {
      return new CancelRequest("");
    }
    if (reason.isNull()) {
      throw new InvalidRequest(
          Problem.badRequest("'reason' is null; leave it out for no reason", "reason"));
    }
    if (!reason.isTextual()) {
      throw new InvalidRequest(Problem.badRequest("'reason' must be a string", "reason"));
    }
    return new CancelRequest(reason.asText());
  }
}
