package io.sagaflow.api;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.SagaRegistry;
import io.sagaflow.orchestrator.SagaReplies;
import java.util.Iterator;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;

/**
 * A start the API accepts: {@code POST /v1/sagas} {@code {type, id?, input, version?}}. An optional
 * field is left out to mean its default; sent as JSON null it is refused, since a null the client
 * sent may be a value it lost (an id lost that way would start a new saga per resend).
 *
 * @param version null for the type's newest version
 */
record StartRequest(String id, String type, Integer version, JsonNode input) {
  private static final Set<String> FIELDS = Set.of("type", "id", "input", "version");

  /**
   * The start that {@code body} and the {@code Idempotency-Key} header ask for. The registry checks
   * the type, version and input here, before the saga's entity is asked, so that a refused start
   * leaves nothing behind.
   */
  static StartRequest parse(JsonNode body, Optional<String> idempotencyKey, SagaRegistry registry)
      throws InvalidRequest {
    if (!body.isObject()) {
      throw invalid("the body must be a JSON object", null);
    }
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!FIELDS.contains(field)) {
        throw invalid(
            "unknown field '" + Problem.clip(field) + "'; expected " + FIELDS, Problem.clip(field));
      }
    }
    String type = type(body.get("type"));
    JsonNode input = input(body.get("input"));
    Integer version = version(body.get("version"));
    String id = id(body.get("id"), idempotencyKey);
    Optional<SagaReplies.Invalid> refused = registry.checkStart(type, version, input);
    if (refused.isPresent()) {
      throw new InvalidRequest(Problem.refusedStart(refused.get()));
    }
    return new StartRequest(id, type, version, input);
  }

  private static String type(JsonNode type) throws InvalidRequest {
    if (type == null || !type.isTextual() || type.asText().isBlank()) {
      throw invalid("'type' must be a non-empty string", "type");
    }
    return type.asText();
  }

  private static JsonNode input(JsonNode input) throws InvalidRequest {
    if (input == null || !input.isObject()) {
      throw invalid("'input' must be a JSON object", "input");
    }
    return input;
  }

  private static Integer version(JsonNode version) throws InvalidRequest {
    if (version == null) {
      return null;
    }
    if (version.isNull()) {
      throw leaveOut("version");
    }
    if (!version.isIntegralNumber() || !version.canConvertToInt() || version.asInt() < 1) {
      throw invalid("'version' must be a positive integer", "version");
    }
    return version.asInt();
  }

  /** The body's id, else the header's, else a new one: the id is the start's idempotency key. */
  private static String id(JsonNode id, Optional<String> idempotencyKey) throws InvalidRequest {
    if (id == null) {
      return idempotencyKey.isPresent()
          ? SagaIds.checkIdempotencyKey(idempotencyKey.get())
          : UUID.randomUUID().toString();
    }
    if (id.isNull()) {
      throw leaveOut("id");
    }
    if (!id.isTextual() || !SagaIds.valid(id.asText())) {
      throw invalid("'id' must match " + SagaIds.RULE, "id");
    }
    if (idempotencyKey.isPresent() && !idempotencyKey.get().equals(id.asText())) {
      throw invalid(
          "the Idempotency-Key header and the body's 'id' differ; send one, or the same",
          "Idempotency-Key");
    }
    return id.asText();
  }

  private static InvalidRequest leaveOut(String field) {
    return invalid("'" + field + "' is null; leave it out for its default", field);
  }

  private static InvalidRequest invalid(String detail, String field) {
    return new InvalidRequest(Problem.badRequest(detail, field));
  }
}
