package io.sagaflow.sagas.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.time.LocalDate;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * One business call as a demo service's handler sees it, with readers that check a field and throw
 * {@link BadRequest} naming it. Unknown body fields are ignored: a participant should tolerate
 * callers that send more than it needs.
 */
record Call(
    String method,
    String path,
    Map<String, String> params,
    JsonNode json,
    String idempotencyKey,
    String sagaId) {

  private static final Pattern ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,63}");
  private static final Pattern CURRENCY = Pattern.compile("[A-Z]{3}");

  /** A path parameter that is an id. */
  String pathId(String name) {
    String value = params.get(name);
    if (value == null || !ID.matcher(value).matches()) {
      throw new BadRequest(
          "path parameter " + name + " must be 1-64 letters, digits, '.', '_' or '-'");
    }
    return value;
  }

  ObjectNode object() {
    if (json == null || !json.isObject()) {
      throw new BadRequest("the request body must be a JSON object");
    }
    return (ObjectNode) json;
  }

  /** A required id field: 1-64 letters, digits, '.', '_' or '-'. */
  String id(String field) {
    String value = string(field);
    if (!ID.matcher(value).matches()) {
      throw new BadRequest(field + " must be 1-64 letters, digits, '.', '_' or '-'");
    }
    return value;
  }

  /** A required, non-blank string of at most {@code maxLength} characters. */
  String text(String field, int maxLength) {
    String value = string(field);
    if (value.isBlank() || value.length() > maxLength) {
      throw new BadRequest(
          field + " must be a non-blank string of at most " + maxLength + " characters");
    }
    return value;
  }

  int integer(String field, int min, int max) {
    JsonNode node = required(field);
    if (!node.isIntegralNumber()
        || !node.canConvertToInt()
        || node.intValue() < min
        || node.intValue() > max) {
      throw new BadRequest(field + " must be an integer between " + min + " and " + max);
    }
    return node.intValue();
  }

  /** A positive decimal amount. */
  BigDecimal amount(String field) {
    JsonNode node = required(field);
    if (!node.isNumber() || node.decimalValue().signum() <= 0) {
      throw new BadRequest(field + " must be a positive number");
    }
    return node.decimalValue();
  }

  /** A three-letter upper-case currency code. */
  String currency(String field) {
    String value = string(field);
    if (!CURRENCY.matcher(value).matches()) {
      throw new BadRequest(field + " must be a three-letter currency code such as EUR");
    }
    return value;
  }

  /** An ISO date such as {@code 2030-05-17}. */
  LocalDate date(String field) {
    String value = string(field);
    try {
      return LocalDate.parse(value);
    } catch (DateTimeParseException e) {
      throw new BadRequest(field + " must be an ISO date such as 2030-05-17");
    }
  }

  /** An optional object field; an empty object when absent. */
  ObjectNode optionalObject(String field) {
    JsonNode node = object().get(field);
    if (node == null || node.isNull()) {
      return ServiceEndpoint.JSON.createObjectNode();
    }
    if (!node.isObject()) {
      throw new BadRequest(field + " must be a JSON object");
    }
    return (ObjectNode) node;
  }

  private String string(String field) {
    JsonNode node = required(field);
    if (!node.isTextual()) {
      throw new BadRequest(field + " must be a string");
    }
    return node.textValue();
  }

  private JsonNode required(String field) {
    JsonNode node = object().get(field);
    if (node == null || node.isNull()) {
      throw new BadRequest(field + " is required");
    }
    return node;
  }
}
