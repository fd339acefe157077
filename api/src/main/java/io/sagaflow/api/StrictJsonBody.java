package io.sagaflow.api;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.extractRequest;
import static org.apache.pekko.http.javadsl.server.Directives.extractStrictEntity;
import static org.apache.pekko.http.javadsl.server.Directives.withSizeLimit;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.util.OptionalLong;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * A request's JSON body, read strictly: a JSON media type, at most {@code max-body-bytes}, within
 * the parser's limits, exactly one value and no duplicate keys.
 */
final class StrictJsonBody {
  private static final int MAX_NUMBER_LENGTH = 100;

  private final ObjectMapper json;
  private final ApiSettings settings;
  private final JsonResponses responses;

  StrictJsonBody(ObjectMapper mapper, ApiSettings settings, JsonResponses responses) {
    this.settings = settings;
    this.responses = responses;
    this.json = mapper.copy();
    // A hostile body must not exhaust the node: bound nesting and string sizes while parsing.
    this.json
        .getFactory()
        .setStreamReadConstraints(
            StreamReadConstraints.builder()
                .maxNestingDepth(settings.maxJsonDepth())
                .maxStringLength(settings.maxJsonStringLength())
                .maxNumberLength(MAX_NUMBER_LENGTH)
                .build());
  }

  /**
   * Reads the body for {@code inner}: 415 unless it is JSON, 413 when larger, 400 when malformed.
   * An absent body passes {@code null} unless {@code required}.
   */
  Route read(boolean required, Function<JsonNode, Route> inner) {
    return extractRequest(
        request -> {
          HttpEntity entity = request.entity();
          boolean empty = entity.isKnownEmpty() || entity.getContentLengthOption().orElse(-1L) == 0;
          if (empty && !required) {
            return inner.apply(null);
          }
          try {
            checkHead(entity.getContentType(), entity.getContentLengthOption());
          } catch (InvalidRequest e) {
            return complete(responses.problem(e.problem()));
          }
          // Limiting the stream too makes an oversized chunked body fail with
          // EntityStreamSizeException (413), not toStrict's status-less "Request too large".
          return withSizeLimit(
              settings.maxBodyBytes(),
              () ->
                  extractStrictEntity(
                      settings.bodyReadTimeout(),
                      settings.maxBodyBytes(),
                      strict -> parsed(strict, required, inner)));
        });
  }

  private Route parsed(
      HttpEntity.Strict strict, boolean required, Function<JsonNode, Route> inner) {
    JsonNode body;
    try {
      body = parse(strict.getData().toArray(), required);
    } catch (InvalidRequest e) {
      return complete(responses.problem(e.problem()));
    }
    return inner.apply(body);
  }

  /** What the request's head tells before its body is read: 415 unless JSON, 413 if too long. */
  void checkHead(ContentType contentType, OptionalLong contentLength) throws InvalidRequest {
    if (!isJson(contentType)) {
      throw new InvalidRequest(
          Problem.of(
              415,
              "unsupported-media-type",
              "Unsupported media type",
              "send the body as application/json, not " + contentType));
    }
    if (contentLength.orElse(-1L) > settings.maxBodyBytes()) {
      throw new InvalidRequest(Problem.tooLarge(settings.maxBodyBytes()));
    }
  }

  /** The body's one JSON value; null for no body at all, unless {@code required}. */
  JsonNode parse(byte[] bytes, boolean required) throws InvalidRequest {
    if (bytes.length == 0 && !required) {
      return null;
    }
    JsonNode body = bytes.length == 0 ? null : readJson(bytes);
    if (body == null || body.isMissingNode()) {
      // A body of white space only is as empty as none, even where none is allowed.
      throw new InvalidRequest(Problem.badRequest("the body is empty; send a JSON object", null));
    }
    return body;
  }

  /**
   * Exactly one JSON value: duplicate keys and anything after the value are refused, since they
   * would make the body mean different things to different readers. Null when there is no value.
   * Jackson's messages name its own classes and features, so every problem is worded here.
   */
  private JsonNode readJson(byte[] bytes) throws InvalidRequest {
    try (JsonParser parser = json.createParser(bytes)) {
      parser.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
      try {
        JsonNode body = json.readTree(parser);
        if (body != null && parser.nextToken() != null) {
          throw malformed(at(parser.currentTokenLocation()) + ": more data after the JSON value");
        }
        return body;
      } catch (StreamConstraintsException e) {
        throw new InvalidRequest(Problem.badRequest(limitExceeded(e), null));
      } catch (JsonParseException e) {
        if (e.getOriginalMessage().startsWith("Duplicate field")) {
          JsonPointer where = parser.getParsingContext().pathAsPointer();
          throw new InvalidRequest(
              Problem.badRequest(
                  "malformed JSON: the field " + where + " appears twice",
                  where.getMatchingProperty()));
        }
        throw malformed(at(e.getLocation()) + ": " + describe(e));
      }
    } catch (IOException e) {
      throw malformed(": the body cannot be read as JSON");
    }
  }

  private static InvalidRequest malformed(String detail) {
    return new InvalidRequest(Problem.badRequest("malformed JSON" + detail, null));
  }

  private static String at(JsonLocation location) {
    return location == null || location.getLineNr() < 1
        ? ""
        : " at line " + location.getLineNr() + ", column " + location.getColumnNr();
  }

  /** Jackson's own words, without what names its classes, features or source. */
  private static String describe(JsonParseException e) {
    String message =
        e.getOriginalMessage()
            .replaceAll("\\s*\\(start marker at .*?\\]\\)", "")
            .replaceAll(":? *(?:enable|set) `[^`]*`.*$", "")
            .replaceAll("\\s*\\([^()]*(?:`|Feature)[^()]*\\)", "");
    return message.isBlank() || message.contains("`") || message.contains("Source:")
        ? "not valid JSON"
        : message;
  }

  private String limitExceeded(StreamConstraintsException e) {
    String message = e.getOriginalMessage();
    if (message.contains("nesting depth")) {
      return "the JSON nests deeper than " + settings.maxJsonDepth() + " levels";
    }
    if (message.contains("String value length")) {
      return "a JSON string is longer than " + settings.maxJsonStringLength() + " characters";
    }
    if (message.contains("Number value length")) {
      return "a JSON number is longer than " + MAX_NUMBER_LENGTH + " digits";
    }
    return "the JSON exceeds a size limit";
  }

  static boolean isJson(ContentType contentType) {
    var media = contentType.mediaType();
    return media.mainType().equals("application")
        && (media.subType().equals("json") || media.subType().endsWith("+json"));
  }
}
