package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import com.networknt.schema.JsonMetaSchema;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.NonValidationKeyword;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaValidatorsConfig;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import com.networknt.schema.oas.OpenApi31;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpResponse;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The API description as a checker: validates real answers (status, media type, body, headers)
 * against {@code openapi.yaml} with a JSON Schema 2020-12 validator, and records which documented
 * answers were seen.
 *
 * <p>Validation is stricter than the published document in one way: every object schema that lists
 * {@code properties} is closed ({@code additionalProperties: false}), so that a field the server
 * sends but the document does not describe fails the contract (the published document stays open,
 * so that clients tolerate fields added later).
 */
final class OpenApiContract {
  static final YAMLMapper YAML = new YAMLMapper();
  static final ObjectMapper JSON = new ObjectMapper();

  /** Headers of the API whose presence must be exactly what the document says. */
  static final List<String> API_HEADERS =
      List.of("Location", "Idempotent-Replayed", "Retry-After", "WWW-Authenticate", "Allow");

  static final List<String> METHODS =
      List.of("get", "put", "post", "delete", "options", "head", "patch", "trace");

  private static final String IRI = "https://sagaflow.test/openapi.json";

  final JsonNode document;
  private final JsonSchemaFactory factory;
  private final SchemaValidatorsConfig config;
  private final Map<String, JsonSchema> schemas = new ConcurrentHashMap<>();
  private final Set<String> seen = ConcurrentHashMap.newKeySet();

  private OpenApiContract(JsonNode document) {
    this.document = document;
    JsonNode strict = document.deepCopy();
    strict.path("components").path("schemas").forEach(schema -> close(schema, false));
    String strictText = strict.toString();
    // The OpenAPI 3.1 dialect, plus the document's own top-level fields as non-validating keywords
    // (the whole document is loaded as one schema resource so that its $refs resolve).
    JsonMetaSchema dialect =
        JsonMetaSchema.builder(OpenApi31.getInstance())
            .keywords(
                Stream.of(
                        "openapi",
                        "info",
                        "jsonSchemaDialect",
                        "servers",
                        "paths",
                        "webhooks",
                        "components",
                        "security",
                        "tags")
                    .map(NonValidationKeyword::new)
                    .toList())
            .build();
    this.factory =
        JsonSchemaFactory.getInstance(
            SpecVersion.VersionFlag.V202012,
            builder ->
                builder
                    .metaSchema(dialect)
                    .defaultMetaSchemaIri(dialect.getIri())
                    .schemaLoaders(loaders -> loaders.schemas(Map.of(IRI, strictText))));
    this.config = SchemaValidatorsConfig.builder().formatAssertionsEnabled(true).build();
  }

  static OpenApiContract parse(String yaml) {
    return new OpenApiContract(readYaml(yaml));
  }

  static JsonNode readYaml(String yaml) {
    try {
      return YAML.readTree(yaml);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ---- what the document says ------------------------------------------------------------------

  /** Path template → its documented methods, upper case. */
  Map<String, Set<String>> methodsByPath() {
    var result = new LinkedHashMap<String, Set<String>>();
    document
        .path("paths")
        .fields()
        .forEachRemaining(
            path -> {
              var methods = new TreeSet<String>();
              path.getValue()
                  .fieldNames()
                  .forEachRemaining(
                      name -> {
                        if (METHODS.contains(name)) {
                          methods.add(name.toUpperCase(Locale.ROOT));
                        }
                      });
              result.put(path.getKey(), methods);
            });
    return result;
  }

  /** Every documented answer of every operation, as "METHOD template status" (no "default"). */
  Set<String> documentedAnswers() {
    var answers = new TreeSet<String>();
    methodsByPath()
        .forEach(
            (path, methods) ->
                methods.forEach(
                    method ->
                        operation(method, path)
                            .path("responses")
                            .fieldNames()
                            .forEachRemaining(
                                status -> {
                                  if (!status.equals("default")) {
                                    answers.add(key(method, path, Integer.parseInt(status)));
                                  }
                                })));
    return answers;
  }

  /** The answers that {@link #check} and {@link #checkMethodNotAllowed} validated so far. */
  Set<String> seenAnswers() {
    return new TreeSet<>(seen);
  }

  JsonNode operation(String method, String path) {
    JsonNode operation = document.path("paths").path(path).path(method.toLowerCase(Locale.ROOT));
    assertThat(operation.isObject()).as("%s %s is documented", method, path).isTrue();
    return operation;
  }

  /** Follows a local {@code $ref} ("#/components/...") to the node it names. */
  JsonNode resolve(JsonNode node) {
    JsonNode current = node;
    for (int hops = 0; current.has("$ref"); hops++) {
      assertThat(hops).as("$ref chain too long at %s", node).isLessThan(10);
      String ref = current.get("$ref").asText();
      assertThat(ref).as("only local references").startsWith("#/");
      current = document.at(ref.substring(1));
      assertThat(current.isMissingNode()).as("%s resolves", ref).isFalse();
    }
    return current;
  }

  // ---- checking answers ------------------------------------------------------------------------

  /**
   * Asserts that {@code response} is a documented answer of {@code method template}: its status is
   * listed (not merely covered by "default"), its media type is documented, its body validates
   * against that media type's schema, and each API header is present exactly when documented (and
   * then validates against its schema).
   */
  JsonNode check(String method, String template, HttpResponse<String> response) {
    String what = method + " " + template + " → " + response.statusCode() + " " + response.body();
    JsonNode responses = operation(method, template).path("responses");
    JsonNode documented = responses.get(String.valueOf(response.statusCode()));
    assertThat(documented).as("status documented for %s", what).isNotNull();
    checkAnswer(what, resolve(documented), response, !method.equals("HEAD"));
    seen.add(key(method, template, response.statusCode()));
    boolean json =
        response
            .headers()
            .firstValue("Content-Type")
            .orElse("")
            .split(";")[0]
            .trim()
            .endsWith("json");
    return json && !response.body().isEmpty() ? parseBody(response) : null;
  }

  /** Asserts a 405 as {@code components/responses/MethodNotAllowed} says, for a documented path. */
  void checkMethodNotAllowed(String method, String template, HttpResponse<String> response) {
    String what = method + " " + template + " → " + response.statusCode() + " " + response.body();
    assertThat(response.statusCode()).as(what).isEqualTo(405);
    JsonNode documented = document.at("/components/responses/MethodNotAllowed");
    checkAnswer(what, documented, response, !method.equals("HEAD"));
    Set<String> allowed =
        List.of(response.headers().firstValue("Allow").orElse("").split(",")).stream()
            .map(String::trim)
            .collect(Collectors.toCollection(TreeSet::new));
    assertThat(allowed).as("Allow of %s", what).isEqualTo(methodsByPath().get(template));
    seen.add("405");
  }

  private void checkAnswer(
      String what, JsonNode documented, HttpResponse<String> response, boolean hasBody) {
    // Headers: the documented ones are there when required and valid; the API's own headers are
    // there only when documented.
    JsonNode headers = documented.path("headers");
    headers
        .fields()
        .forEachRemaining(
            entry -> {
              String name = entry.getKey();
              Optional<String> value = response.headers().firstValue(name);
              JsonNode resolved = resolve(entry.getValue());
              if (resolved.path("required").asBoolean(false)) {
                assertThat(value).as("header %s in %s", name, what).isPresent();
              }
              if (value.isPresent()) {
                String pointer = pointerOf(entry.getValue()) + "/schema";
                JsonNode schema = resolve(resolved.path("schema"));
                JsonNode instance =
                    schema.path("type").asText().equals("integer")
                            && value.get().matches("-?[0-9]{1,9}")
                        ? IntNode.valueOf(Integer.parseInt(value.get()))
                        : TextNode.valueOf(value.get());
                assertValid(pointer, instance, "header " + name + " of " + what);
              }
            });
    for (String name : API_HEADERS) {
      if (!headers.has(name)) {
        assertThat(response.headers().firstValue(name))
            .as("undocumented header %s in %s", name, what)
            .isEmpty();
      }
    }
    // Body: media type documented, and valid against its schema.
    JsonNode content = documented.path("content");
    if (content.isMissingNode() || content.isEmpty()) {
      assertThat(response.body()).as("no body documented for %s", what).isEmpty();
      return;
    }
    String mediaType =
        response
            .headers()
            .firstValue("Content-Type")
            .orElse("")
            .split(";")[0]
            .trim()
            .toLowerCase(Locale.ROOT);
    assertThat(content.has(mediaType))
        .as("media type '%s' documented for %s", mediaType, what)
        .isTrue();
    if (!hasBody) {
      return;
    }
    JsonNode schema = content.get(mediaType).path("schema");
    if (mediaType.endsWith("json")) {
      assertThat(schema.has("$ref"))
          .as("JSON answers name a schema of components/schemas: %s", what)
          .isTrue();
      assertValid(schema.get("$ref").asText().substring(1), parseBody(response), what);
    } else {
      assertThat(resolve(schema).path("type").asText()).as(what).isEqualTo("string");
    }
  }

  private static String pointerOf(JsonNode header) {
    String ref = header.path("$ref").asText();
    assertThat(ref)
        .as("headers are documented once, under components/headers: %s", header)
        .startsWith("#/components/headers/");
    return ref.substring(1);
  }

  /** Validates {@code instance} against the schema at {@code pointer} of the (closed) document. */
  void assertValid(String pointer, JsonNode instance, String what) {
    JsonSchema schema =
        schemas.computeIfAbsent(
            pointer, p -> factory.getSchema(SchemaLocation.of(IRI + "#" + p), config));
    Set<ValidationMessage> errors = schema.validate(instance);
    assertThat(errors).as("%s is valid against %s: %s", what, pointer, instance).isEmpty();
  }

  static JsonNode parseBody(HttpResponse<String> response) {
    try {
      return JSON.readTree(response.body());
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + response.body(), e);
    }
  }

  static String key(String method, String path, int status) {
    return method.toUpperCase(Locale.ROOT) + " " + path + " " + status;
  }

  /**
   * Closes every object schema that lists properties, except the direct branches of an allOf (which
   * only narrow a schema that is closed where it is defined).
   */
  private static void close(JsonNode node, boolean allOfBranch) {
    if (node instanceof ObjectNode object) {
      if (object.has("properties") && !object.has("additionalProperties") && !allOfBranch) {
        object.put("additionalProperties", false);
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = object.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> field = it.next();
        switch (field.getKey()) {
          case "properties", "$defs" -> field.getValue().forEach(child -> close(child, false));
          case "items", "additionalProperties", "not" -> close(field.getValue(), false);
          case "oneOf", "anyOf" -> field.getValue().forEach(child -> close(child, false));
          case "allOf" -> field.getValue().forEach(child -> close(child, true));
          default -> {}
        }
      }
    }
  }
}
