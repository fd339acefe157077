package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.SagaRegistry;
import java.io.IOException;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StartRequestTest {
  private static final SagaRegistry REGISTRY = SagaRegistry.of(ApiFixture.ORDER, ApiFixture.STRICT);
  private static final String INPUT = ApiFixture.orderInput("o-1");

  @Test
  void readsTypeInputVersionAndTheBodysId() throws Exception {
    var start = parse("{\"type\":\"order\",\"id\":\"s-1\",\"version\":1,\"input\":" + INPUT + "}");

    assertThat(start).isEqualTo(new StartRequest("s-1", "order", 1, json(INPUT)));
  }

  @Test
  void aMissingVersionMeansTheNewest() throws Exception {
    assertThat(parse("{\"type\":\"order\",\"id\":\"s-1\",\"input\":" + INPUT + "}").version())
        .isNull();
  }

  /** Null is not absent: a client that sent a null may have lost a value on its way. */
  @Test
  void aNullVersionIsRefusedNotTakenForTheNewest() {
    assertThat(refusal("{\"type\":\"order\",\"version\":null,\"input\":" + INPUT + "}"))
        .isEqualTo(
            Problem.badRequest("'version' is null; leave it out for its default", "version"));
  }

  @Test
  void theIdComesFromTheIdempotencyKeyWhenTheBodyHasNone() throws Exception {
    var start =
        StartRequest.parse(
            json("{\"type\":\"order\",\"input\":" + INPUT + "}"), Optional.of("k-1"), REGISTRY);

    assertThat(start.id()).isEqualTo("k-1");
  }

  @Test
  void theSameIdInBodyAndHeaderIsAccepted() throws Exception {
    var start =
        StartRequest.parse(
            json("{\"type\":\"order\",\"id\":\"k-1\",\"input\":" + INPUT + "}"),
            Optional.of("k-1"),
            REGISTRY);

    assertThat(start.id()).isEqualTo("k-1");
  }

  @Test
  void anIdIsGeneratedWhenNeitherBodyNorHeaderHasOne() throws Exception {
    assertThat(parse("{\"type\":\"order\",\"input\":" + INPUT + "}").id()).matches("[0-9a-f-]{36}");
  }

  /** A null id under a random one would start another saga at every resend of the same body. */
  @Test
  void aNullIdIsRefusedNotReplacedByARandomOne() {
    String body = "{\"type\":\"order\",\"id\":null,\"input\":" + INPUT + "}";
    Problem expected = Problem.badRequest("'id' is null; leave it out for its default", "id");

    assertThat(refusal(body)).isEqualTo(expected);
    assertThat(refusal(body, "k-1")).isEqualTo(expected);
  }

  @ParameterizedTest
  @ValueSource(strings = {"[]", "\"x\"", "42", "null"})
  void aBodyThatIsNoObjectIsRefused(String body) {
    assertThat(refusal(body)).isEqualTo(Problem.badRequest("the body must be a JSON object", null));
  }

  @Test
  void anUnknownFieldIsNamedCutShort() {
    String name = "p".repeat(100);
    Problem problem = refusal("{\"" + name + "\":1,\"type\":\"order\",\"input\":{}}");

    assertThat(problem.field()).isEqualTo("p".repeat(64) + "…");
    assertThat(problem.detail())
        .startsWith("unknown field '" + "p".repeat(64) + "…'; expected [")
        .contains("type", "id", "input", "version");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "\"type\":1,", "\"type\":null,", "\"type\":\" \",", "\"type\":{},"})
  void theTypeMustBeANonEmptyString(String type) {
    assertThat(refusal("{" + type + "\"input\":{}}"))
        .isEqualTo(Problem.badRequest("'type' must be a non-empty string", "type"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", ",\"input\":\"x\"", ",\"input\":[]", ",\"input\":null"})
  void theInputMustBeAnObject(String input) {
    assertThat(refusal("{\"type\":\"order\"" + input + "}"))
        .isEqualTo(Problem.badRequest("'input' must be a JSON object", "input"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"0", "-1", "1.5", "\"1\"", "1e0", "2147483648", "true"})
  void theVersionMustBeAPositiveInteger(String version) {
    assertThat(refusal("{\"type\":\"order\",\"version\":" + version + ",\"input\":" + INPUT + "}"))
        .isEqualTo(Problem.badRequest("'version' must be a positive integer", "version"));
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "5",
        "\"\"",
        "\"a b\"",
        "\"a/b\"",
        "\"a\\u0000b\"",
        "\"s\u00e1ga\"",
        "\".\"",
        "\"..\""
      })
  void theIdMustMatchThePattern(String id) {
    assertThat(refusal("{\"type\":\"order\",\"id\":" + id + ",\"input\":" + INPUT + "}"))
        .isEqualTo(
            Problem.badRequest(
                "'id' must match [A-Za-z0-9._:-]{1,200} and not be '.' or '..'", "id"));
  }

  @Test
  void anIdOf200CharactersIsAcceptedAndOf201Refused() throws Exception {
    String body = "{\"type\":\"order\",\"id\":\"%s\",\"input\":" + INPUT + "}";

    assertThat(parse(body.formatted("a".repeat(200))).id()).hasSize(200);
    assertThat(refusal(body.formatted("a".repeat(201))).field()).isEqualTo("id");
  }

  @ParameterizedTest
  @ValueSource(strings = {"a b", ".", ".."})
  void theIdempotencyKeyMustMatchThePattern(String key) {
    assertThat(refusal("{\"type\":\"order\",\"input\":" + INPUT + "}", key))
        .isEqualTo(
            Problem.badRequest(
                "the Idempotency-Key header must match [A-Za-z0-9._:-]{1,200} and not be '.' or"
                    + " '..'",
                "Idempotency-Key"));
  }

  @Test
  void anIdempotencyKeyOtherThanTheBodysIdIsRefused() {
    assertThat(refusal("{\"type\":\"order\",\"id\":\"body-id\",\"input\":" + INPUT + "}", "other"))
        .isEqualTo(
            Problem.badRequest(
                "the Idempotency-Key header and the body's 'id' differ; send one, or the same",
                "Idempotency-Key"));
  }

  @Test
  void anUnknownTypeOrVersionIs422InTheRegistrysWords() throws Exception {
    for (String body :
        new String[] {
          "{\"type\":\"nope\",\"input\":{}}",
          "{\"type\":\"order\",\"version\":2,\"input\":" + INPUT + "}"
        }) {
      JsonNode start = json(body);
      String detail =
          REGISTRY
              .checkStart(
                  start.get("type").asText(),
                  start.has("version") ? start.get("version").asInt() : null,
                  start.get("input"))
              .orElseThrow()
              .detail();

      assertThat(refusal(body))
          .isEqualTo(
              Problem.unprocessable("unknown-saga-type", "Unknown saga type", detail, "type"));
    }
  }

  @Test
  void anInputTheDefinitionRefusesIs422InTheRegistrysWords() throws Exception {
    JsonNode input = json("{\"customerId\":\"c\",\"quantity\":0}");
    String detail = REGISTRY.checkStart("strict", null, input).orElseThrow().detail();

    assertThat(refusal("{\"type\":\"strict\",\"input\":" + input + "}"))
        .isEqualTo(Problem.unprocessable("invalid-input", "Invalid input", detail, "input"));
  }

  private static StartRequest parse(String body) throws Exception {
    return StartRequest.parse(json(body), Optional.empty(), REGISTRY);
  }

  private static Problem refusal(String body) {
    return refusal(body, null);
  }

  private static Problem refusal(String body, String idempotencyKey) {
    return Refusal.of(
        () -> StartRequest.parse(json(body), Optional.ofNullable(idempotencyKey), REGISTRY));
  }

  private static JsonNode json(String text) throws IOException {
    return ApiJson.mapper().readTree(text);
  }
}
