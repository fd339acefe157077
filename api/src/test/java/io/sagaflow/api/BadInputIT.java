package io.sagaflow.api;

import static io.sagaflow.api.ApiFixture.json;
import static io.sagaflow.api.ApiFixture.orderInput;
import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.testing.Eventually;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A battery of bad requests: each gets its documented status and a problem body, none creates a
 * saga or leaves anything in the journal, and the node still serves valid requests afterwards.
 *
 * <p>No test needs another to have run: {@code api} only ever sees bad requests (so that its
 * journal stays empty of sagas), and the test that starts sagas after the battery has a node of its
 * own.
 */
class BadInputIT {
  /** Every exchange of the battery must be answered (or the connection closed) within this. */
  static final Duration PER_REQUEST = Duration.ofSeconds(5);

  /** What must never reach a client: class names, stack frames, parser internals. */
  static final Pattern LEAK =
      Pattern.compile(
          "Exception|\\bat [a-z]+\\.|java\\.|javax\\.|scala\\.|com\\.fasterxml|org\\.apache"
              + "|io\\.sagaflow|StreamRead|Feature\\.|Feature '|\\[Source:|\\$[A-Z]|\\.java:\\d+");

  private static final String SAGAS = "/v1/sagas";
  private static final String JSON_TYPE = "application/json";

  private static ApiFixture api;

  @BeforeAll
  static void start() {
    // Nothing else writes to the journal (sagas are not remembered by sharding, so its coordinator
    // and shards write nothing): only what a request leaves behind can change it from here on.
    api = startNode();
  }

  private static ApiFixture startNode() {
    // A short body-read timeout, so that the Content-Length lie below is answered quickly.
    var node =
        ApiFixture.start(
            Map.of("sagaflow.http.body-read-timeout", "2s"), Map.of(), List.of(ApiFixture.STRICT));
    awaitServing(node);
    return node;
  }

  /** Until the node answers at all: its first answers are slow (cold code), later ones are not. */
  static void awaitServing(ApiFixture api) {
    Eventually.until(
        "the node answers HTTP",
        Duration.ofSeconds(60),
        () ->
            api.send(api.request("/v1/saga-types").timeout(Duration.ofSeconds(20)).GET())
                    .statusCode()
                > 0);
  }

  @AfterAll
  static void stop() {
    if (api != null) {
      api.close();
    }
  }

  // ---- the battery ----------------------------------------------------------------------------

  static Stream<Arguments> battery() {
    var cases = new ArrayList<Arguments>();
    malformedJson(cases);
    wrongFields(cases);
    ids(cases);
    limits(cases);
    contentTypes(cases);
    unprocessable(cases);
    operatorCommands(cases);
    reads(cases);
    listing(cases);
    queryParameters(cases);
    methods(cases);
    unknownPaths(cases);
    rawProtocol(cases);
    return cases.stream();
  }

  private static void malformedJson(List<Arguments> cases) {
    add(cases, "empty body", startJson(""), expect(400));
    add(cases, "null", startJson("null"), expect(400));
    add(cases, "array", startJson("[]"), expect(400));
    add(cases, "string", startJson("\"x\""), expect(400));
    add(cases, "number", startJson("42"), expect(400));
    add(cases, "lone brace", startJson("{"), expect(400));
    add(cases, "truncated", startJson("{\"type\":\"order\",\"input\":{\"a\":"), expect(400));
    add(
        cases,
        "trailing garbage",
        startJson("{\"type\":\"order\",\"input\":" + orderInput("trailing") + "} xyz"),
        expect(400));
    add(
        cases,
        "two documents",
        startJson(
            "{\"type\":\"order\",\"input\":"
                + orderInput("twice")
                + "}{\"type\":\"order\",\"input\":{}}"),
        expect(400));
    add(
        cases,
        "duplicate top-level key",
        startJson("{\"type\":\"nope\",\"type\":\"order\",\"input\":" + orderInput("dup-top") + "}"),
        expect(400).field("type"));
    add(
        cases,
        "duplicate key inside input",
        startJson("{\"type\":\"order\",\"input\":{\"orderId\":\"dup-in\",\"orderId\":\"x\"}}"),
        expect(400).field("input"));
    add(cases, "single quotes", startJson("{'type':'order','input':{}}"), expect(400));
    add(
        cases,
        "comment",
        startJson("{\"type\":\"order\",/* hi */\"input\":" + orderInput("comment") + "}"),
        expect(400));
    add(cases, "NaN", startJson("{\"type\":\"order\",\"input\":{\"a\":NaN}}"), expect(400));
    add(
        cases,
        "invalid UTF-8",
        post(
            SAGAS,
            JSON_TYPE,
            concat(
                "{\"type\":\"order\",\"input\":{\"a\":\"",
                new byte[] {(byte) 0xC3, (byte) 0x28},
                "\"}}")),
        expect(400));
    add(
        cases,
        "unescaped control character in a string",
        startJson("{\"type\":\"order\",\"input\":{\"a\":\"x\u0001y\"}}"),
        expect(400));
  }

  private static void wrongFields(List<Arguments> cases) {
    add(cases, "empty object", startJson("{}"), expect(400).field("type"));
    add(
        cases,
        "missing type",
        startJson("{\"input\":" + orderInput("no-type") + "}"),
        expect(400).field("type"));
    add(
        cases,
        "type is a number",
        startJson("{\"type\":1,\"input\":{}}"),
        expect(400).field("type"));
    add(
        cases,
        "type is null",
        startJson("{\"type\":null,\"input\":{}}"),
        expect(400).field("type"));
    add(
        cases,
        "type is empty",
        startJson("{\"type\":\"\",\"input\":{}}"),
        expect(400).field("type"));
    add(
        cases,
        "type is an object",
        startJson("{\"type\":{},\"input\":{}}"),
        expect(400).field("type"));
    add(cases, "missing input", startJson("{\"type\":\"order\"}"), expect(400).field("input"));
    add(
        cases,
        "input is a string",
        startJson("{\"type\":\"order\",\"input\":\"x\"}"),
        expect(400).field("input"));
    add(
        cases,
        "input is an array",
        startJson("{\"type\":\"order\",\"input\":[]}"),
        expect(400).field("input"));
    add(
        cases,
        "input is null",
        startJson("{\"type\":\"order\",\"input\":null}"),
        expect(400).field("input"));
    for (String version : List.of("0", "-1", "1.5", "\"1\"", "1e0", "2147483648", "true", "null")) {
      add(
          cases,
          "version " + version,
          startJson(
              "{\"type\":\"order\",\"version\":" + version + ",\"input\":" + orderInput("v") + "}"),
          expect(400).field("version"));
    }
    add(
        cases,
        "unknown top-level field",
        startJson(
            "{\"type\":\"order\",\"priority\":1,\"input\":" + orderInput("unknown-field") + "}"),
        expect(400).field("priority"));
    add(
        cases,
        "long unknown field name is not echoed whole",
        startJson("{\"" + "p".repeat(10_000) + "\":1,\"type\":\"order\",\"input\":{}}"),
        expect(400).anyField());
  }

  private static void ids(List<Arguments> cases) {
    var badIds =
        Map.of(
            "id is a number", "5",
            "id is empty", "\"\"",
            "201-character id", "\"" + "a".repeat(201) + "\"",
            "id with a space", "\"a b\"",
            "id with a slash", "\"a/b\"",
            "id with a control character", "\"a\\u0007b\"",
            "id with NUL", "\"a\\u0000b\"",
            "id with unicode", "\"s\u00e1ga\"",
            "id with a newline", "\"a\\nb\"",
            // Path segments with a meaning: /v1/sagas/.. could never address the saga.
            "id is a dot", "\".\"");
    var sorted = new TreeMap<>(badIds);
    sorted.put("id is two dots", "\"..\"");
    // Null is not absent: a null id under a generated one would start a saga per resend.
    sorted.put("id is null", "null");
    sorted.forEach(
        (name, id) ->
            add(
                cases,
                name,
                startJson(
                    "{\"type\":\"order\",\"id\":" + id + ",\"input\":" + orderInput("id") + "}"),
                expect(400).field("id")));
    String body = "{\"type\":\"order\",\"input\":" + orderInput("key") + "}";
    add(
        cases,
        "Idempotency-Key with a space",
        post(SAGAS, JSON_TYPE, body, "Idempotency-Key", "a b"),
        expect(400).field("Idempotency-Key"));
    add(
        cases,
        "Idempotency-Key of 201 characters",
        post(SAGAS, JSON_TYPE, body, "Idempotency-Key", "k".repeat(201)),
        expect(400).field("Idempotency-Key"));
    add(
        cases,
        "Idempotency-Key is a dot",
        post(SAGAS, JSON_TYPE, body, "Idempotency-Key", "."),
        expect(400).field("Idempotency-Key"));
    add(
        cases,
        "Idempotency-Key is two dots",
        post(SAGAS, JSON_TYPE, body, "Idempotency-Key", ".."),
        expect(400).field("Idempotency-Key"));
    add(
        cases,
        "Idempotency-Key with unicode",
        post(SAGAS, JSON_TYPE, body, "Idempotency-Key", "k\u00e9y"),
        expect(400).field("Idempotency-Key"));
    add(
        cases,
        "Idempotency-Key and body id differ",
        post(
            SAGAS,
            JSON_TYPE,
            "{\"type\":\"order\",\"id\":\"body-id\",\"input\":" + orderInput("differ") + "}",
            "Idempotency-Key",
            "header-id"),
        expect(400).field("Idempotency-Key"));
  }

  private static void limits(List<Arguments> cases) {
    add(cases, "2 MiB body", post(SAGAS, JSON_TYPE, bigStart(2 * 1024 * 1024)), expect(413));
    add(cases, "2 MiB chunked body", chunked(SAGAS, bigStart(2 * 1024 * 1024)), expect(413));
    add(
        cases,
        "10,000-deep nested arrays",
        startJson(
            "{\"type\":\"order\",\"input\":{\"a\":"
                + "[".repeat(10_000)
                + "]".repeat(10_000)
                + "}}"),
        expect(400));
    add(
        cases,
        "10,000-deep nested objects",
        startJson(
            "{\"type\":\"order\",\"input\":"
                + "{\"a\":".repeat(10_000)
                + "1"
                + "}".repeat(10_000)
                + "}"),
        expect(400));
    add(
        cases,
        "300 KB string",
        startJson(
            "{\"type\":\"order\",\"input\":{\"orderId\":\"big\",\"note\":\""
                + "n".repeat(300 * 1024)
                + "\"}}"),
        expect(400));
    add(
        cases,
        "101-digit number",
        startJson(
            "{\"type\":\"order\",\"input\":{\"orderId\":\"num\",\"amount\":"
                + "9".repeat(101)
                + "}}"),
        expect(400));
  }

  private static void contentTypes(List<Arguments> cases) {
    String valid = "{\"type\":\"order\",\"input\":" + orderInput("ct") + "}";
    add(cases, "text/plain", post(SAGAS, "text/plain", valid), expect(415));
    add(cases, "no content type", post(SAGAS, null, valid), expect(415));
    add(
        cases,
        "application/xml",
        post(SAGAS, "application/xml", "<saga type=\"order\"/>"),
        expect(415));
    add(
        cases,
        "form encoded",
        post(SAGAS, "application/x-www-form-urlencoded", "type=order"),
        expect(415));
  }

  private static void unprocessable(List<Arguments> cases) {
    add(
        cases,
        "unknown saga type",
        startJson("{\"type\":\"nope\",\"input\":{}}"),
        expect(422).field("type"));
    add(
        cases,
        "unknown version of a known type",
        startJson("{\"type\":\"order\",\"version\":2,\"input\":" + orderInput("v2") + "}"),
        expect(422).field("type"));
    add(
        cases,
        "strict input missing fields",
        startJson("{\"type\":\"strict\",\"input\":{}}"),
        expect(422).field("input"));
    add(
        cases,
        "strict input of the wrong type",
        startJson("{\"type\":\"strict\",\"input\":{\"customerId\":\"c\",\"quantity\":\"many\"}}"),
        expect(422).field("input"));
    add(
        cases,
        "strict input with an unknown field",
        startJson(
            "{\"type\":\"strict\",\"input\":{\"customerId\":\"c\",\"quantity\":1,\"extra\":true}}"),
        expect(422).field("input"));
    add(
        cases,
        "strict input with an object for a string",
        startJson("{\"type\":\"strict\",\"input\":{\"customerId\":{},\"quantity\":1}}"),
        expect(422).field("input"));
    add(
        cases,
        "strict input out of range",
        startJson("{\"type\":\"strict\",\"input\":{\"customerId\":\"c\",\"quantity\":0}}"),
        expect(422).field("input"));
  }

  private static void operatorCommands(List<Arguments> cases) {
    String cancel = SAGAS + "/ghost/cancel";
    add(cases, "cancel with an array body", post(cancel, JSON_TYPE, "[]"), expect(400));
    add(cases, "cancel with a string body", post(cancel, JSON_TYPE, "\"stop\""), expect(400));
    add(
        cases,
        "cancel with a numeric reason",
        post(cancel, JSON_TYPE, "{\"reason\":5}"),
        expect(400).field("reason"));
    add(
        cases,
        "cancel with a null reason",
        post(cancel, JSON_TYPE, "{\"reason\":null}"),
        expect(400).field("reason"));
    add(
        cases,
        "cancel with an object reason",
        post(cancel, JSON_TYPE, "{\"reason\":{}}"),
        expect(400).field("reason"));
    add(cases, "cancel with malformed JSON", post(cancel, JSON_TYPE, "{\"reason\":"), expect(400));
    add(cases, "cancel as text/plain", post(cancel, "text/plain", "stop"), expect(415));
    add(
        cases,
        "cancel with a 2 MiB body",
        post(cancel, JSON_TYPE, bigStart(2 * 1024 * 1024)),
        expect(413));
    add(
        cases,
        "cancel with a bad Idempotency-Key",
        post(cancel, JSON_TYPE, "{}", "Idempotency-Key", "a b"),
        expect(400).field("Idempotency-Key"));
    add(
        cases,
        "cancel of an unknown saga",
        post(cancel, JSON_TYPE, "{\"reason\":\"x\"}"),
        expect(404));
    add(cases, "retry of an unknown saga", post(SAGAS + "/ghost/retry", null, ""), expect(404));
    add(cases, "cancel of a NUL id", post(SAGAS + "/a%00b/cancel", JSON_TYPE, "{}"), expect(404));
    add(cases, "retry of a NUL id", post(SAGAS + "/a%00b/retry", null, ""), expect(404));
  }

  private static void reads(List<Arguments> cases) {
    add(cases, "get an unknown saga", get(SAGAS + "/ghost"), expect(404));
    add(cases, "events of an unknown saga", get(SAGAS + "/ghost/events"), expect(404));
    add(cases, "get a 201-character id", get(SAGAS + "/" + "a".repeat(201)), expect(404));
    add(cases, "get a 2,000-character id", get(SAGAS + "/" + "a".repeat(2_000)), expect(404));
    add(cases, "get an id with NUL", get(SAGAS + "/a%00b"), expect(404));
    add(cases, "events of an id with NUL", get(SAGAS + "/a%00b/events"), expect(404));
    add(cases, "get an id with an encoded control character", get(SAGAS + "/a%01b"), expect(404));
    add(cases, "get an id with encoded unicode", get(SAGAS + "/s%C3%A1ga"), expect(404));
    add(cases, "unknown saga type", get("/v1/saga-types/nope"), expect(404));
    add(cases, "saga type with NUL", get("/v1/saga-types/a%00b"), expect(404));
  }

  private static void listing(List<Arguments> cases) {
    for (String limit : List.of("0", "501", "abc", "-1", "1.5", "", "99999999999")) {
      add(cases, "limit=" + limit, get(SAGAS + "?limit=" + limit), expect(400).field("limit"));
    }
    add(cases, "status=bogus", get(SAGAS + "?status=bogus"), expect(400).field("status"));
    add(cases, "limit twice", get(SAGAS + "?limit=1&limit=2"), expect(400).field("limit"));
    add(
        cases,
        "status twice",
        get(SAGAS + "?status=failed&status=failed"),
        expect(400).field("status"));
    add(cases, "unknown parameter sort", get(SAGAS + "?sort="), expect(400).field("sort"));
    add(cases, "misspelt parameter", get(SAGAS + "?limt=5"), expect(400).field("limt"));
    add(cases, "parameter in another case", get(SAGAS + "?Limit=5"), expect(400).field("Limit"));
    add(cases, "status empty", get(SAGAS + "?status="), expect(400).field("status"));
    String cursor = cursor(Instant.parse("2030-01-01T00:00:00Z"), "some-saga");
    var tampered = new StringBuilder(cursor);
    tampered.setCharAt(5, cursor.charAt(5) == 'A' ? 'B' : 'A');
    var badCursors =
        Map.of(
            "garbage cursor", "garbage!!",
            "tampered cursor", tampered.toString(),
            "padded cursor", cursor + "=",
            "truncated cursor", cursor.substring(0, cursor.length() - 3),
            "2,000-character cursor", "A".repeat(2_000),
            "empty cursor", "",
            "checksummed cursor with a NUL id",
                cursor(Instant.parse("2030-01-01T00:00:00Z"), "a\0b"),
            "checksummed cursor of year 10000",
                cursor(Instant.parse("+10000-01-01T00:00:00Z"), "x"));
    new TreeMap<>(badCursors)
        .forEach(
            (name, c) ->
                add(cases, name, get(SAGAS + "?cursor=" + c), expect(400).field("cursor")));
  }

  /** Operations that take no query parameters refuse any, before anything else is read. */
  private static void queryParameters(List<Arguments> cases) {
    add(
        cases,
        "start with a query parameter",
        post(
            SAGAS + "?dryRun=true",
            JSON_TYPE,
            "{\"type\":\"order\",\"id\":\"with-query\",\"input\":" + orderInput("q") + "}"),
        expect(400).field("dryRun"));
    add(cases, "get with a query parameter", get(SAGAS + "/ghost?x=1"), expect(400).field("x"));
    add(
        cases,
        "events with a query parameter",
        get(SAGAS + "/ghost/events?after=3"),
        expect(400).field("after"));
    add(
        cases,
        "cancel with a query parameter",
        post(SAGAS + "/ghost/cancel?reason=x", JSON_TYPE, "{}"),
        expect(400).field("reason"));
    add(
        cases,
        "retry with a query parameter",
        post(SAGAS + "/ghost/retry?force", null, ""),
        expect(400).field("force"));
    add(
        cases,
        "saga types with a query parameter",
        get("/v1/saga-types?x"),
        expect(400).field("x"));
    add(
        cases,
        "saga type with a query parameter",
        get("/v1/saga-types/order?version=1"),
        expect(400).field("version"));
  }

  private static void methods(List<Arguments> cases) {
    add(cases, "PUT /v1/sagas", method("PUT", SAGAS), expect(405).allow("GET", "POST"));
    add(cases, "DELETE /v1/sagas", method("DELETE", SAGAS), expect(405).allow("GET", "POST"));
    add(
        cases,
        "POST /v1/sagas/{id}",
        post(SAGAS + "/ghost", JSON_TYPE, "{}"),
        expect(405).allow("GET"));
    add(
        cases,
        "DELETE /v1/sagas/{id}",
        method("DELETE", SAGAS + "/ghost"),
        expect(405).allow("GET"));
    add(cases, "PATCH /v1/sagas/{id}", method("PATCH", SAGAS + "/ghost"), expect(405).allow("GET"));
    add(
        cases,
        "POST /v1/sagas/{id}/events",
        post(SAGAS + "/ghost/events", JSON_TYPE, "{}"),
        expect(405).allow("GET"));
    add(
        cases,
        "GET /v1/sagas/{id}/cancel",
        get(SAGAS + "/ghost/cancel"),
        expect(405).allow("POST"));
    add(
        cases,
        "PUT /v1/sagas/{id}/retry",
        method("PUT", SAGAS + "/ghost/retry"),
        expect(405).allow("POST"));
    add(
        cases,
        "POST /v1/saga-types",
        post("/v1/saga-types", JSON_TYPE, "{}"),
        expect(405).allow("GET"));
    add(
        cases,
        "DELETE /v1/saga-types/{type}",
        method("DELETE", "/v1/saga-types/order"),
        expect(405).allow("GET"));
    add(
        cases,
        "POST /openapi.yaml",
        post("/openapi.yaml", JSON_TYPE, "{}"),
        expect(405).allow("GET"));
  }

  private static void unknownPaths(List<Arguments> cases) {
    for (String path :
        List.of(
            "/nope",
            "/v2/sagas",
            "/v1",
            "/v1/nope",
            "/v1/sagas/",
            "/v1/sagas/ghost/nope",
            "/v1/sagas/ghost/events/more",
            "/v1/saga-types/order/steps")) {
      add(cases, "GET " + path, get(path), expect(404));
    }
    add(
        cases,
        "POST /v1/sagas/{id}/pause",
        post(SAGAS + "/ghost/pause", JSON_TYPE, "{}"),
        expect(404));
  }

  /** Requests the JDK client refuses to send: straight onto a socket. */
  private static void rawProtocol(List<Arguments> cases) {
    String valid = "{\"type\":\"order\",\"input\":" + orderInput("raw") + "}";
    add(
        cases,
        "raw: control character in a header value",
        raw(
            "GET /v1/saga-types HTTP/1.1\r\nHost: x\r\nX-Note: a\u0001b\r\nConnection: close\r\n\r\n"),
        expect(400));
    add(
        cases,
        "raw: control character in Idempotency-Key of a valid start",
        raw(rawPost(SAGAS, "Idempotency-Key: raw\u0001key\r\n", valid)),
        expect(400));
    add(
        cases,
        "raw: control character in the path",
        raw("GET /v1/sagas/a\u0001b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        expect(400));
    add(
        cases,
        "raw: space in the path",
        raw("GET /v1/sagas/a b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        expect(505));
    add(
        cases,
        "raw: bad percent-encoding",
        raw("GET /v1/sagas/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        expect(400));
    add(
        cases,
        "raw: request line without a target",
        rawHalfClosed("GET\r\n\r\n"),
        expect(400).orClose());
    add(
        cases,
        "raw: TLS handshake on the plain port",
        raw(
            "\u0016\u0003\u0001\u0002\u0000\u0001\u0000\u0001\u00fc\u0003\u0003"
                + "\u00a5".repeat(40)),
        expect(400));
    add(
        cases,
        "raw: unknown method",
        raw("BREW /v1/sagas HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        expect(501));
    add(
        cases,
        "raw: 10 KB request target",
        raw(
            "GET /v1/sagas/"
                + "a".repeat(10_000)
                + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        expect(414));
    add(
        cases,
        "raw: 20 KB header",
        raw(
            "GET /v1/saga-types HTTP/1.1\r\nHost: x\r\nX-Pad: "
                + "p".repeat(20_000)
                + "\r\nConnection: close\r\n\r\n"),
        expect(431));
    add(
        cases,
        "raw: Content-Length is not a number",
        raw(rawPostHead(SAGAS, "abc") + valid),
        expect(400));
    add(
        cases,
        "raw: two different Content-Lengths",
        raw(
            "POST /v1/sagas HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
                + valid.length()
                + "\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
                + valid),
        expect(400));
    add(
        cases,
        "raw: Content-Length lie, body cut short",
        rawHalfClosed(rawPostHead(SAGAS, "500") + valid),
        expect(400).orClose());
    add(
        cases,
        "raw: Content-Length lie, connection held open",
        raw(rawPostHead(SAGAS, "500") + valid),
        expect(408));
    add(
        cases,
        "raw: malformed chunked body",
        raw(
            "POST /v1/sagas HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
        expect(400));
  }

  /** Every request of the battery, whatever it is answered: what the tests after it need. */
  private static void sendTheBattery(ApiFixture node) {
    battery().forEach(c -> ((Exchange) c.get()[0]).send(node));
  }

  @ParameterizedTest(name = "{argumentSetName}")
  @MethodSource("battery")
  void badRequestGetsItsProblemAndLeavesNothing(Exchange exchange, Expect expected) {
    Leftovers journal = Leftovers.of(api);
    long started = System.nanoTime();
    Answer answer = exchange.send(api);
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(PER_REQUEST);

    if (answer.closed()) {
      assertThat(expected.mayClose).as("the node closed the connection without an answer").isTrue();
    } else {
      assertProblem(answer, expected.status, expected.field, expected.anyField);
      if (expected.allow != null) {
        assertThat(answer.header("Allow")).as("Allow").isNotNull();
        assertThat(
                Arrays.stream(answer.header("Allow").split(","))
                    .map(String::trim)
                    .collect(Collectors.toSet()))
            .isEqualTo(expected.allow);
      }
    }
    assertThat(Leftovers.of(api)).as("journal after the request").isEqualTo(journal);
  }

  @Test
  void noBadRequestLeftAnythingBehind() {
    Leftovers before = Leftovers.of(api);
    sendTheBattery(api);

    assertThat(Leftovers.of(api)).isEqualTo(before);
    assertThat(
            api.db.count("select count(*) from event_journal where persistence_id like 'saga|%'"))
        .isZero();
    assertThat(before.indexRows()).isZero();
  }

  @Test
  void theNodeStillServesValidRequests() {
    try (ApiFixture node = startNode()) {
      sendTheBattery(node);
      assertServesValidRequests(node);
    }
  }

  private static void assertServesValidRequests(ApiFixture node) {
    String orderId = "after-battery-" + UUID.randomUUID();
    String strictId = "strict-ok-" + UUID.randomUUID();
    var created =
        node.send(
            node.request(SAGAS)
                .timeout(PER_REQUEST)
                .header("Content-Type", JSON_TYPE)
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"type\":\"order\",\"id\":\""
                            + orderId
                            + "\",\"input\":"
                            + orderInput(orderId)
                            + "}")));
    assertThat(created.statusCode()).isEqualTo(201);
    node.awaitStatus(orderId, "COMPLETED");

    var strict =
        node.send(
            node.request(SAGAS)
                .timeout(PER_REQUEST)
                .header("Content-Type", JSON_TYPE)
                .header("Idempotency-Key", strictId)
                .POST(
                    HttpRequest.BodyPublishers.ofString(
                        "{\"type\":\"strict\",\"input\":{\"customerId\":\"c-1\",\"quantity\":2}}")));
    assertThat(strict.statusCode()).isEqualTo(201);
    node.awaitStatus(strictId, "COMPLETED");

    // A well-formed cursor is accepted: the cursor cases above fail for being tampered with.
    var page =
        node.send(
            node.request(
                    SAGAS
                        + "?limit=1&cursor="
                        + cursor(Instant.parse("2030-01-01T00:00:00Z"), "zzz"))
                .timeout(PER_REQUEST)
                .GET());
    assertThat(page.statusCode()).isEqualTo(200);
    assertThat(json(page).get("items")).isNotNull();
    // Strict about parameters, not about separators: a bare "?" or a trailing "&" is none.
    for (String query : List.of("?", "?limit=1&", "?&type=order")) {
      assertThat(node.send(node.request(SAGAS + query).timeout(PER_REQUEST).GET()).statusCode())
          .as(query)
          .isEqualTo(200);
    }
    assertThat(
            node.send(node.request("/v1/saga-types/strict").timeout(PER_REQUEST).GET())
                .statusCode())
        .isEqualTo(200);
  }

  // ---- assertions -----------------------------------------------------------------------------

  static void assertProblem(Answer answer, int status, String field, boolean anyField) {
    String where = answer.status() + " " + answer.body();
    assertThat(answer.status()).as(where).isEqualTo(status);
    assertThat(answer.header("Content-Type")).as(where).startsWith("application/problem+json");
    assertThat(answer.body().length())
        .as("a problem, not an echo of the request: " + where)
        .isLessThan(2_048);
    assertThat(LEAK.matcher(answer.body()).find()).as("internals in " + where).isFalse();
    JsonNode problem;
    try {
      problem = ApiFixture.JSON.readTree(answer.body());
    } catch (IOException e) {
      throw new AssertionError("not JSON: " + where, e);
    }
    assertThat(problem.isObject()).as(where).isTrue();
    for (String member : List.of("type", "title", "detail")) {
      assertThat(problem.path(member).isTextual()).as(member + " in " + where).isTrue();
      assertThat(problem.path(member).asText()).as(member + " in " + where).isNotBlank();
    }
    assertThat(problem.path("status").isInt()).as(where).isTrue();
    assertThat(problem.path("status").asInt()).as(where).isEqualTo(status);
    if (anyField) {
      assertThat(problem.path("field").isTextual()).as("field in " + where).isTrue();
    } else if (field == null) {
      assertThat(problem.has("field")).as("no field in " + where).isFalse();
    } else {
      assertThat(problem.path("field").asText(null)).as("field in " + where).isEqualTo(field);
    }
  }

  // ---- the cases' vocabulary ------------------------------------------------------------------

  /**
   * What a case expects: a status and its problem's field, or (raw requests) a closed connection.
   */
  static final class Expect {
    final int status;
    String field;
    boolean anyField;
    Set<String> allow;
    boolean mayClose;

    private Expect(int status) {
      this.status = status;
    }

    Expect field(String name) {
      this.field = name;
      return this;
    }

    /** Some field must be named (which one is the API's choice). */
    Expect anyField() {
      this.anyField = true;
      return this;
    }

    Expect allow(String... methods) {
      this.allow = Set.of(methods);
      return this;
    }

    /** Closing the connection without an answer is acceptable too. */
    Expect orClose() {
      this.mayClose = true;
      return this;
    }
  }

  static Expect expect(int status) {
    return new Expect(status);
  }

  /** A response, or {@code closed} when the node hung up without one. */
  record Answer(int status, Map<String, String> headers, String body, boolean closed) {
    static Answer hungUp() {
      return new Answer(0, Map.of(), "", true);
    }

    String header(String name) {
      return headers.get(name);
    }
  }

  /** One request, sent one way or another. */
  @FunctionalInterface
  interface Exchange {
    Answer send(ApiFixture api);
  }

  private static void add(List<Arguments> cases, String name, Exchange exchange, Expect expect) {
    cases.add(Arguments.argumentSet(name, exchange, expect));
  }

  static Exchange startJson(String body) {
    return post(SAGAS, JSON_TYPE, body);
  }

  static Exchange post(String path, String contentType, String body, String... headers) {
    return post(path, contentType, body.getBytes(UTF_8), headers);
  }

  static Exchange post(String path, String contentType, byte[] body, String... headers) {
    return fixture -> {
      var request =
          fixture
              .request(path)
              .timeout(PER_REQUEST)
              .POST(HttpRequest.BodyPublishers.ofByteArray(body));
      if (contentType != null) {
        request.header("Content-Type", contentType);
      }
      if (headers.length > 0) {
        request.headers(headers);
      }
      return answer(fixture.send(request));
    };
  }

  /** A body of unknown length: sent chunked, so only reading it can find it too large. */
  static Exchange chunked(String path, byte[] body) {
    return fixture ->
        answer(
            fixture.send(
                fixture
                    .request(path)
                    .timeout(PER_REQUEST)
                    .header("Content-Type", JSON_TYPE)
                    .POST(
                        HttpRequest.BodyPublishers.ofInputStream(
                            () -> new ByteArrayInputStream(body)))));
  }

  static Exchange get(String path) {
    return fixture -> answer(fixture.send(fixture.request(path).timeout(PER_REQUEST).GET()));
  }

  static Exchange method(String method, String path) {
    return fixture ->
        answer(
            fixture.send(
                fixture
                    .request(path)
                    .timeout(PER_REQUEST)
                    .method(method, HttpRequest.BodyPublishers.noBody())));
  }

  static Exchange raw(String request) {
    return fixture -> Raw.exchange(fixture, request.getBytes(ISO_8859_1), false);
  }

  /** Sends the bytes, then closes the sending half: the body ends before its Content-Length. */
  static Exchange rawHalfClosed(String request) {
    return fixture -> Raw.exchange(fixture, request.getBytes(ISO_8859_1), true);
  }

  static String rawPostHead(String path, String contentLength) {
    return "POST "
        + path
        + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
        + contentLength
        + "\r\nConnection: close\r\n\r\n";
  }

  static String rawPost(String path, String extraHeaders, String body) {
    return "POST "
        + path
        + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
        + body.getBytes(UTF_8).length
        + "\r\n"
        + extraHeaders
        + "Connection: close\r\n\r\n"
        + body;
  }

  static Answer answer(HttpResponse<String> response) {
    var headers = new TreeMap<String, String>(String.CASE_INSENSITIVE_ORDER);
    response
        .headers()
        .map()
        .forEach((name, values) -> headers.put(name, String.join(", ", values)));
    return new Answer(response.statusCode(), headers, response.body(), false);
  }

  /** A valid-looking start whose input pads it to {@code size} bytes. */
  static byte[] bigStart(int size) {
    String head = "{\"type\":\"order\",\"input\":{\"orderId\":\"big\",\"pad\":[";
    var body = new StringBuilder(size + 16).append(head);
    while (body.length() < size) {
      body.append("\"").append("x".repeat(1_000)).append("\",");
    }
    body.append("\"end\"]}}");
    return body.toString().getBytes(UTF_8);
  }

  static byte[] concat(String before, byte[] middle, String after) {
    var out = new ByteArrayOutputStream();
    out.writeBytes(before.getBytes(UTF_8));
    out.writeBytes(middle);
    out.writeBytes(after.getBytes(UTF_8));
    return out.toByteArray();
  }

  /**
   * A cursor in the index's format (format byte, created-at micros, saga id, 8 bytes of SHA-256):
   * well-formed, so that the cases above fail only for what was done to it.
   */
  static String cursor(Instant createdAt, String sagaId) {
    byte[] id = sagaId.getBytes(UTF_8);
    ByteBuffer body = ByteBuffer.allocate(1 + Long.BYTES + id.length + 8);
    long micros =
        Math.addExact(
            Math.multiplyExact(createdAt.getEpochSecond(), 1_000_000L),
            createdAt.getNano() / 1_000);
    body.put((byte) 1).putLong(micros).put(id);
    try {
      MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
      sha256.update(body.array(), 0, 1 + Long.BYTES + id.length);
      body.put(Arrays.copyOf(sha256.digest(), 8));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    return Base64.getUrlEncoder().withoutPadding().encodeToString(body.array());
  }

  /**
   * What a request could leave behind: saga events, remembered sagas and shards (every journal row,
   * by persistence id and sequence number), snapshots and index rows.
   */
  record Leftovers(String journal, long snapshots, long indexRows) {
    static Leftovers of(ApiFixture api) {
      return new Leftovers(
          api.db.scalar(
              "select coalesce(string_agg(persistence_id || '#' || sequence_number, ' ' order by ordering), '')"
                  + " from event_journal"),
          api.db.count("select count(*) from snapshot"),
          api.db.count("select count(*) from saga_index"));
    }
  }

  /** HTTP/1.1 over a plain socket, for requests no well-behaved client sends. */
  static final class Raw {
    private Raw() {}

    static Answer exchange(ApiFixture api, byte[] request, boolean halfClose) {
      try (Socket socket = new Socket()) {
        socket.connect(
            new InetSocketAddress("127.0.0.1", api.node.httpPort()), (int) PER_REQUEST.toMillis());
        socket.setSoTimeout((int) PER_REQUEST.toMillis());
        try {
          socket.getOutputStream().write(request);
          socket.getOutputStream().flush();
          if (halfClose) {
            socket.shutdownOutput();
          }
        } catch (SocketException e) {
          // The node may answer and hang up before it has read everything: read what it said.
        }
        return read(socket.getInputStream());
      } catch (SocketTimeoutException e) {
        return fail("the node neither answered nor closed within " + PER_REQUEST);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }

    private static Answer read(InputStream in) throws IOException {
      var received = new ByteArrayOutputStream();
      byte[] buffer = new byte[8192];
      while (true) {
        int n;
        try {
          n = in.read(buffer);
        } catch (SocketException e) {
          n = -1; // reset: the same as a close for what was already received
        }
        if (n < 0) {
          break;
        }
        received.write(buffer, 0, n);
        Answer complete = parse(received.toByteArray(), false);
        if (complete != null) {
          return complete;
        }
      }
      if (received.size() == 0) {
        return Answer.hungUp();
      }
      Answer answer = parse(received.toByteArray(), true);
      assertThat(answer).as("a truncated response: " + received.toString(ISO_8859_1)).isNotNull();
      return answer;
    }

    /** The response in {@code bytes}, or null while incomplete (unless at end of stream). */
    private static Answer parse(byte[] bytes, boolean atEnd) {
      String text = new String(bytes, ISO_8859_1);
      int headEnd = text.indexOf("\r\n\r\n");
      if (headEnd < 0) {
        return null;
      }
      String[] lines = text.substring(0, headEnd).split("\r\n");
      int status = Integer.parseInt(lines[0].split(" ")[1]);
      var headers = new TreeMap<String, String>(String.CASE_INSENSITIVE_ORDER);
      for (int i = 1; i < lines.length; i++) {
        int colon = lines[i].indexOf(':');
        headers.merge(
            lines[i].substring(0, colon).trim(),
            lines[i].substring(colon + 1).trim(),
            (a, b) -> a + ", " + b);
      }
      int bodyStart = headEnd + 4;
      String length = headers.get("Content-Length");
      if (length == null) {
        return atEnd
            ? new Answer(
                status,
                headers,
                new String(bytes, bodyStart, bytes.length - bodyStart, UTF_8),
                false)
            : null;
      }
      int contentLength = Integer.parseInt(length);
      if (bytes.length - bodyStart < contentLength) {
        return null;
      }
      return new Answer(status, headers, new String(bytes, bodyStart, contentLength, UTF_8), false);
    }
  }
}
