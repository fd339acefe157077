package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.orchestrator.SagaEngine;
import io.sagaflow.orchestrator.telemetry.SagaMdc;
import io.sagaflow.orchestrator.testing.LogCapture;
import io.sagaflow.persistence.index.IndexUnavailableException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.IllegalRequestException;
import org.apache.pekko.http.scaladsl.model.StatusCodes;
import org.apache.pekko.pattern.AskTimeoutException;
import org.junit.jupiter.api.Test;
import org.slf4j.MDC;
import scala.Option;

class ExceptionProblemsTest {
  private static final ApiSettings SETTINGS =
      new ApiSettings("127.0.0.1", 0, 1024, Duration.ofSeconds(2), 64, 1000, List.of());

  private final ExceptionProblems problems =
      new ExceptionProblems(ApiJson.responses(), SETTINGS, () -> Duration.ofSeconds(1));

  @Test
  void anOverloadedEngineIs503WithRetryAfterAndSaysNothingStarted() {
    HttpResponse response =
        problems.unknownOutcome(
            new CompletionException(new SagaEngine.OverloadedException("100 starts waiting")),
            "the start of saga 's-1'",
            "s-1",
            "order");

    assertThat(ApiJson.header(response, "Retry-After")).isEqualTo("1");
    assertProblem(
        response,
        503,
        "overloaded",
        "the start of saga 's-1' was refused, nothing was started: 100 starts waiting."
            + " Retry later with the same id.");
  }

  @Test
  void retryAfterIsWhatTheJournalAdvisesInWholeSecondsAndAtLeastOne() {
    Map<Duration, String> advised =
        Map.of(Duration.ofMillis(12_300), "13", Duration.ofSeconds(2), "2", Duration.ZERO, "1");
    advised.forEach(
        (advice, header) -> {
          var journalAdvised = new ExceptionProblems(ApiJson.responses(), SETTINGS, () -> advice);

          HttpResponse response =
              journalAdvised.unknownOutcome(
                  new AskTimeoutException("late"), "the start of saga 's-1'", "s-1", "order");

          assertThat(ApiJson.header(response, "Retry-After")).isEqualTo(header);
        });
  }

  @Test
  void anAskNotAnsweredInTimeIs503WithRetryAfterAndAnUnknownOutcome() {
    for (Throwable timeout :
        List.of(new AskTimeoutException("late"), new CompletionException(new TimeoutException()))) {
      HttpResponse response =
          problems.unknownOutcome(timeout, "the command to saga 's-1'", "s-1", null);

      assertThat(ApiJson.header(response, "Retry-After")).isEqualTo("1");
      assertProblem(
          response,
          503,
          "unavailable",
          "the command to saga 's-1' was not confirmed in time (the journal may be slow or down,"
              + " or the saga's node was just lost and its shard is moving): its outcome is unknown. Retry with the same id; a retry never starts a second"
              + " saga.");
    }
  }

  @Test
  void anyOtherFailureOfAnAskIs500WithoutRetryAfter() {
    HttpResponse response =
        problems.unknownOutcome(
            new IllegalStateException("bug"), "the start of saga 's-1'", "s-1", "order");

    assertThat(ApiJson.header(response, "Retry-After")).isNull();
    assertProblem(
        response,
        500,
        "internal-error",
        "the start of saga 's-1' failed unexpectedly; see the node's log");
  }

  @Test
  void theLineLoggedAboutAnAskCarriesItsSagaAndLeavesTheThreadAsItWas() {
    MDC.put(SagaMdc.SAGA_ID, "other");
    try (LogCapture capture = LogCapture.start()) {
      problems.unknownOutcome(
          new AskTimeoutException("late"), "the start of saga 's-1'", "s-1", "order");
      problems.unknownOutcome(
          new IllegalStateException("bug"), "the command to saga 's-2'", "s-2", null);

      assertThat(capture.events(ExceptionProblems.class.getName()))
          .extracting(e -> Map.entry(e.getFormattedMessage(), e.getMDCPropertyMap()))
          .containsExactly(
              Map.entry(
                  "the start of saga 's-1' was not confirmed in time",
                  Map.of("sagaId", "s-1", "sagaType", "order")),
              Map.entry("the command to saga 's-2' failed", Map.of("sagaId", "s-2")));
      assertThat(MDC.getCopyOfContextMap()).containsExactlyEntriesOf(Map.of("sagaId", "other"));
    } finally {
      MDC.clear();
    }
  }

  @Test
  void anUnreadableDatabaseIs503WithRetryAfter() {
    HttpResponse response =
        problems.databaseUnavailable(new IndexUnavailableException("down", new RuntimeException()));

    assertThat(ApiJson.header(response, "Retry-After")).isEqualTo("1");
    assertProblem(response, 503, "unavailable", "the database cannot be read right now; retry");
  }

  @Test
  void aBodyTooLargeWhileStreamingIs413() {
    var tooLarge = new EntityStreamSizeException(1024, Option.empty());

    assertProblem(
        problems.unexpected(new CompletionException(tooLarge)),
        413,
        "payload-too-large",
        "the body exceeds 1024 bytes");
    assertProblem(
        problems.unexpected(IllegalRequestException.apply(StatusCodes.PayloadTooLarge(), "big")),
        413,
        "payload-too-large",
        "the body exceeds 1024 bytes");
  }

  @Test
  void aBodyThatBrokeOffIsTheClientsFault() {
    var cutShort =
        IllegalRequestException.apply(
            new ErrorInfo("Entity stream truncation", "detail"), StatusCodes.BadRequest());
    var rejected =
        IllegalRequestException.apply(
            new ErrorInfo("Header too long", "detail"), StatusCodes.RequestHeaderFieldsTooLarge());

    assertProblem(
        problems.unexpected(cutShort),
        400,
        "invalid-request",
        "the body cannot be read: Entity stream truncation");
    assertProblem(problems.unexpected(rejected), 431, "request-rejected", "Header too long");
  }

  @Test
  void aBodyThatDidNotArriveInTimeIs408() {
    assertProblem(
        problems.unexpected(new CompletionException(new TimeoutException())),
        408,
        "request-timeout",
        "the body did not arrive within 2000 ms");
  }

  @Test
  void anythingElseIs500AndNamesNoInternals() {
    HttpResponse response = problems.unexpected(new NullPointerException("x.y.Z"));

    assertProblem(
        response, 500, "internal-error", "the request failed unexpectedly; see the node's log");
  }

  private static void assertProblem(HttpResponse response, int status, String type, String detail) {
    JsonNode problem = ApiJson.tree(response);
    assertThat(response.status().intValue()).isEqualTo(status);
    assertThat(problem.get("status").asInt()).isEqualTo(status);
    assertThat(problem.get("type").asText()).isEqualTo(Problem.TYPE_PREFIX + type);
    assertThat(problem.get("detail").asText()).isEqualTo(detail);
  }
}
