package io.sagaflow.api;

import static io.sagaflow.api.ApiFixture.orderInput;
import static java.nio.charset.StandardCharsets.ISO_8859_1;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.api.BadInputIT.Answer;
import io.sagaflow.orchestrator.testing.Eventually;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.LoggerFactory;

/**
 * With API tokens configured, every /v1 call needs {@code Authorization: Bearer} with one of them,
 * the API description stays open, and no token is ever logged or answered.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class AuthIT {
  // Distinctive, so that finding one in a log can only mean it leaked.
  private static final String ALPHA = "alpha-7f3c9e";
  private static final String BETA = "beta-91ad42";

  private static final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private static final List<Answer> answers = new ArrayList<>();
  private static Level sagaflowLevel;
  private static ApiFixture api;

  @BeforeAll
  static void start() {
    // Every log line of the node from its start, Sagaflow's own at every level.
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    Logger sagaflow = (Logger) LoggerFactory.getLogger("io.sagaflow");
    sagaflowLevel = sagaflow.getLevel();
    sagaflow.setLevel(Level.TRACE);
    logs.setContext(root.getLoggerContext());
    logs.start();
    root.addAppender(logs);
    api =
        ApiFixture.start(Map.of(), Map.of("SAGAFLOW_API_TOKENS", " " + ALPHA + " , " + BETA + " "));
    BadInputIT.awaitServing(api);
  }

  @AfterAll
  static void stop() {
    if (api != null) {
      api.close();
    }
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.detachAppender(logs);
    logs.stop();
    ((Logger) LoggerFactory.getLogger("io.sagaflow")).setLevel(sagaflowLevel);
  }

  static Stream<Arguments> endpoints() {
    String start =
        "{\"type\":\"order\",\"id\":\"no-token\",\"input\":" + orderInput("no-token") + "}";
    return Stream.of(
        Arguments.argumentSet("POST /v1/sagas", "POST", "/v1/sagas", start),
        Arguments.argumentSet("GET /v1/sagas", "GET", "/v1/sagas", null),
        Arguments.argumentSet("GET /v1/sagas/{id}", "GET", "/v1/sagas/some-id", null),
        Arguments.argumentSet("GET /v1/sagas/{id}/events", "GET", "/v1/sagas/some-id/events", null),
        Arguments.argumentSet(
            "POST /v1/sagas/{id}/cancel", "POST", "/v1/sagas/some-id/cancel", "{}"),
        Arguments.argumentSet("POST /v1/sagas/{id}/retry", "POST", "/v1/sagas/some-id/retry", ""),
        Arguments.argumentSet("GET /v1/saga-types", "GET", "/v1/saga-types", null),
        Arguments.argumentSet("GET /v1/saga-types/{type}", "GET", "/v1/saga-types/order", null),
        Arguments.argumentSet("GET an unknown /v1 path", "GET", "/v1/nope", null),
        Arguments.argumentSet("DELETE /v1/sagas (wrong method)", "DELETE", "/v1/sagas", null));
  }

  @ParameterizedTest(name = "{argumentSetName}")
  @MethodSource("endpoints")
  @Order(1)
  void everyV1EndpointWantsABearerToken(String method, String path, String body) {
    Answer answer = send(method, path, body, null);

    assertUnauthorized(answer);
    assertThat(
            api.db.count("select count(*) from event_journal where persistence_id like 'saga|%'"))
        .isZero();
  }

  static Stream<Arguments> badCredentials() {
    return Stream.of(
        Arguments.argumentSet("unknown token", "Bearer gamma-5d1e07"),
        Arguments.argumentSet(
            "a known token's prefix", "Bearer " + ALPHA.substring(0, ALPHA.length() - 1)),
        Arguments.argumentSet("a known token in upper case", "Bearer " + ALPHA.toUpperCase()),
        Arguments.argumentSet("both tokens at once", "Bearer " + ALPHA + "," + BETA),
        Arguments.argumentSet("token with an extra word after a space", "Bearer " + ALPHA + " x"),
        Arguments.argumentSet(
            "token split by a space", "Bearer " + ALPHA.substring(0, 5) + " " + ALPHA.substring(5)),
        Arguments.argumentSet(
            "Basic scheme with a token as password",
            "Basic " + Base64.getEncoder().encodeToString(("user:" + ALPHA).getBytes(UTF_8))),
        Arguments.argumentSet("Basic scheme with the bare token", "Basic " + ALPHA),
        Arguments.argumentSet("another scheme", "Token " + ALPHA),
        Arguments.argumentSet("no scheme", ALPHA),
        Arguments.argumentSet("empty bearer", "Bearer "),
        Arguments.argumentSet("scheme only", "Bearer"),
        Arguments.argumentSet("empty header", ""));
  }

  @ParameterizedTest(name = "{argumentSetName}")
  @MethodSource("badCredentials")
  @Order(2)
  void badCredentialsAre401(String authorization) {
    Answer start =
        send(
            "POST",
            "/v1/sagas",
            "{\"type\":\"order\",\"id\":\"bad-token\",\"input\":" + orderInput("bad-token") + "}",
            authorization);
    Answer list = send("GET", "/v1/sagas", null, authorization);

    assertUnauthorized(start);
    assertUnauthorized(list);
    assertThat(
            api.db.count("select count(*) from event_journal where persistence_id like 'saga|%'"))
        .isZero();
  }

  @Test
  @Order(3)
  void aTokenWithAControlCharacterIsRefusedBeforeTheApiWithoutAnEcho() {
    Answer answer =
        BadInputIT.Raw.exchange(
            api,
            ("GET /v1/saga-types HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                    + ALPHA
                    + "\u0001\r\n"
                    + "Connection: close\r\n\r\n")
                .getBytes(ISO_8859_1),
            false);
    synchronized (answers) {
      answers.add(answer);
    }

    BadInputIT.assertProblem(answer, 400, null, false);
  }

  @Test
  @Order(4)
  void eitherTokenWorksOnEveryEndpoint() {
    String start =
        "{\"type\":\"order\",\"id\":\"with-token\",\"input\":" + orderInput("with-token") + "}";

    assertThat(send("POST", "/v1/sagas", start, "Bearer " + ALPHA).status()).isEqualTo(201);
    assertThat(send("POST", "/v1/sagas", start, "Bearer " + BETA).status()).isEqualTo(200);
    // The scheme is case-insensitive (RFC 9110, section 11.1).
    assertThat(send("GET", "/v1/sagas/with-token", null, "bearer " + ALPHA).status())
        .isEqualTo(200);
    Eventually.until(
        "with-token completes",
        Duration.ofSeconds(30),
        () -> {
          Answer saga = send("GET", "/v1/sagas/with-token", null, "Bearer " + BETA);
          return saga.status() == 200 && saga.body().contains("\"status\":\"COMPLETED\"");
        });
    for (String token : List.of(ALPHA, BETA)) {
      String bearer = "Bearer " + token;
      assertThat(send("GET", "/v1/sagas", null, bearer).status()).isEqualTo(200);
      assertThat(send("GET", "/v1/sagas/with-token/events", null, bearer).status()).isEqualTo(200);
      assertThat(send("GET", "/v1/saga-types", null, bearer).status()).isEqualTo(200);
      assertThat(send("GET", "/v1/saga-types/order", null, bearer).status()).isEqualTo(200);
      assertThat(send("POST", "/v1/sagas/with-token/cancel", "{}", bearer).status()).isEqualTo(409);
      assertThat(send("POST", "/v1/sagas/with-token/retry", "", bearer).status()).isEqualTo(409);
      assertThat(send("GET", "/v1/sagas/nope", null, bearer).status()).isEqualTo(404);
    }
  }

  @Test
  @Order(5)
  void theApiDescriptionStaysOpen() {
    Answer answer = send("GET", "/openapi.yaml", null, null);

    if (AuthIT.class.getClassLoader().getResource("openapi.yaml") != null) {
      assertThat(answer.status()).isEqualTo(200);
    } else {
      assertThat(answer.status()).isNotEqualTo(401);
    }
    assertThat(answer.header("WWW-Authenticate")).isNull();
  }

  @Test
  @Order(6)
  void tokensAreNeverLoggedNorAnswered() {
    var settings =
        ApiSettings.fromConfig(
            ConfigFactory.parseString("sagaflow.http.tokens = \"\"")
                .withFallback(ConfigFactory.defaultReference()),
            Map.of("SAGAFLOW_API_TOKENS", ALPHA + "," + BETA));
    assertThat(settings.authRequired()).isTrue();
    assertThat(settings.toString()).doesNotContain(ALPHA, BETA).contains("2 configured");

    List<String> lines;
    synchronized (logs) {
      lines =
          logs.list.stream()
              .map(
                  e ->
                      e.getFormattedMessage()
                          + " "
                          + e.getMDCPropertyMap()
                          + " "
                          + ThrowableProxyUtil.asString(e.getThrowableProxy()))
              .toList();
    }
    assertThat(lines).as("the node's log").isNotEmpty();
    assertThat(lines)
        .filteredOn(l -> l.contains(ALPHA) || l.contains(BETA))
        .as("log lines with a token")
        .isEmpty();
    assertThat(answers).hasSizeGreaterThan(40);
    assertThat(answers)
        .filteredOn(
            a ->
                (a.body() + a.headers()).contains(ALPHA) || (a.body() + a.headers()).contains(BETA))
        .as("answers with a token")
        .isEmpty();
  }

  private static void assertUnauthorized(Answer answer) {
    BadInputIT.assertProblem(answer, 401, null, false);
    assertThat(answer.header("WWW-Authenticate")).as("WWW-Authenticate").startsWith("Bearer");
  }

  /** One request, with {@code authorization} as its Authorization header unless null. */
  private static Answer send(String method, String path, String body, String authorization) {
    var request = api.request(path).timeout(BadInputIT.PER_REQUEST);
    if (body != null) {
      request
          .header("Content-Type", "application/json")
          .method(method, HttpRequest.BodyPublishers.ofString(body));
    } else {
      request.method(method, HttpRequest.BodyPublishers.noBody());
    }
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    Answer answer = BadInputIT.answer(api.send(request));
    synchronized (answers) {
      answers.add(answer);
    }
    return answer;
  }
}
