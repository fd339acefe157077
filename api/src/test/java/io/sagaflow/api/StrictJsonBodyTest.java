package io.sagaflow.api;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.OptionalLong;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class StrictJsonBodyTest {
  private static final ApiSettings SETTINGS =
      new ApiSettings("127.0.0.1", 0, 1024, Duration.ofSeconds(2), 64, 1000, List.of());

  private final StrictJsonBody body =
      new StrictJsonBody(ApiJson.mapper(), SETTINGS, ApiJson.responses());

  @Test
  void readsOneJsonValue() throws Exception {
    assertThat(body.parse(bytes(" {\"a\": [1, \"x\"]}\n"), true))
        .isEqualTo(ApiJson.mapper().readTree("{\"a\":[1,\"x\"]}"));
    assertThat(body.parse(bytes("null"), true).isNull()).isTrue();
  }

  @Test
  void noBodyIsNullWhereNoneIsRequired() throws Exception {
    assertThat(body.parse(new byte[0], false)).isNull();
  }

  @Test
  void noBodyOrOnlyWhiteSpaceIsEmptyWhereOneIsRequired() {
    Problem empty = Problem.badRequest("the body is empty; send a JSON object", null);

    assertThat(refusal("", true)).isEqualTo(empty);
    assertThat(refusal(" \n\t", true)).isEqualTo(empty);
    assertThat(refusal(" ", false)).isEqualTo(empty);
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "{|malformed JSON at line 1, column 2: Unexpected end-of-input: expected close marker for"
            + " Object",
        "{\"a\":1}{\"b\":2}|malformed JSON at line 1, column 8: more data after the JSON value",
        "{\"a\":1} xyz|malformed JSON at line 1, column 12: Unrecognized token 'xyz': was"
            + " expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')",
        "{'a':1}|malformed JSON at line 1, column 2: Unexpected character (''' (code 39)): was"
            + " expecting double-quote to start field name",
        "{\"a\":/* hi */1}|malformed JSON at line 1, column 6: Unexpected character ('/' (code"
            + " 47)): maybe a (non-standard) comment?",
        "{\"a\":NaN}|malformed JSON at line 1, column 9: Non-standard token 'NaN'",
      })
  void malformedJsonSaysWhereAndWhatInJacksonsWordsWithoutItsInternals(String json, String detail) {
    assertThat(refusal(json, true)).isEqualTo(Problem.badRequest(detail, null));
  }

  @Test
  void thePositionCountsLines() {
    assertThat(refusal("\n\n  {\"a\":tru}", true).detail())
        .startsWith("malformed JSON at line 3, column 12: Unrecognized token 'tru'");
  }

  @Test
  void invalidUtf8IsMalformed() {
    byte[] invalid = {'{', '"', 'a', '"', ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'};

    assertThat(Refusal.of(() -> body.parse(invalid, true)))
        .isEqualTo(
            Problem.badRequest(
                "malformed JSON at line 1, column 9: Invalid UTF-8 middle byte 0x28", null));
  }

  @Test
  void aDuplicateKeyIsRefusedNamingItsPathAndItsTopLevelField() {
    assertThat(refusal("{\"type\":\"a\",\"type\":\"b\"}", true))
        .isEqualTo(Problem.badRequest("malformed JSON: the field /type appears twice", "type"));
    assertThat(refusal("{\"input\":{\"id\":1,\"id\":2}}", true))
        .isEqualTo(
            Problem.badRequest("malformed JSON: the field /input/id appears twice", "input"));
  }

  @Test
  void theParserLimitsAreSaidInTheSettingsTerms() throws Exception {
    assertThat(refusal("[".repeat(65) + "]".repeat(65), true).detail())
        .isEqualTo("the JSON nests deeper than 64 levels");
    assertThat(refusal("\"" + "s".repeat(1001) + "\"", true).detail())
        .isEqualTo("a JSON string is longer than 1000 characters");
    assertThat(refusal("9".repeat(101), true).detail())
        .isEqualTo("a JSON number is longer than 100 digits");
    assertThat(body.parse(bytes("[".repeat(64) + "]".repeat(64)), true)).isNotNull();
  }

  @ParameterizedTest
  @ValueSource(strings = {"application/json", "application/problem+json", "application/x+json"})
  void jsonMediaTypesAreJson(String mediaType) {
    assertThat(StrictJsonBody.isJson(ContentTypes.parse(mediaType))).isTrue();
  }

  @Test
  void otherMediaTypesAre415() {
    for (ContentType type :
        List.of(
            ContentTypes.TEXT_PLAIN_UTF8,
            ContentTypes.APPLICATION_OCTET_STREAM,
            ContentTypes.APPLICATION_X_WWW_FORM_URLENCODED,
            ContentTypes.parse("application/xml"))) {
      assertThat(Refusal.of(() -> body.checkHead(type, OptionalLong.empty())))
          .isEqualTo(
              Problem.of(
                  415,
                  "unsupported-media-type",
                  "Unsupported media type",
                  "send the body as application/json, not " + type));
    }
  }

  @Test
  void aBodyAnnouncedLargerThanTheLimitIs413() throws Exception {
    body.checkHead(ContentTypes.APPLICATION_JSON, OptionalLong.of(1024));
    body.checkHead(ContentTypes.APPLICATION_JSON, OptionalLong.empty());

    assertThat(
            Refusal.of(() -> body.checkHead(ContentTypes.APPLICATION_JSON, OptionalLong.of(1025))))
        .isEqualTo(Problem.tooLarge(1024));
  }

  private Problem refusal(String json, boolean required) {
    return Refusal.of(() -> body.parse(bytes(json), required));
  }

  private static byte[] bytes(String text) {
    return text.getBytes(UTF_8);
  }
}
