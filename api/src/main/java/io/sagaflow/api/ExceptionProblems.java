package io.sagaflow.api;

import static org.apache.pekko.http.javadsl.server.Directives.complete;

import io.sagaflow.orchestrator.SagaEngine;
import io.sagaflow.orchestrator.telemetry.SagaMdc;
import io.sagaflow.persistence.index.IndexUnavailableException;
import java.time.Duration;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.ExceptionHandler;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.http.scaladsl.model.ExceptionWithErrorInfo;
import org.apache.pekko.http.scaladsl.model.IllegalRequestException;
import org.apache.pekko.pattern.AskTimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exceptions as problems: what the routes' exception handler answers, and what an ask to the engine
 * answers when it failed (a 503 with {@code Retry-After} when its outcome is unknown).
 */
final class ExceptionProblems {
  private static final Logger log = LoggerFactory.getLogger(ExceptionProblems.class);

  private final JsonResponses responses;
  private final ApiSettings settings;
  private final Supplier<Duration> retryAfter;

  /**
   * @param retryAfter what a 503 advises in {@code Retry-After} (e.g. until the journal's circuit
   *     breaker lets calls through again); rounded up to whole seconds, at least 1
   */
  ExceptionProblems(JsonResponses responses, ApiSettings settings, Supplier<Duration> retryAfter) {
    this.responses = responses;
    this.settings = settings;
    this.retryAfter = retryAfter;
  }

  ExceptionHandler handler() {
    return ExceptionHandler.newBuilder()
        .match(EntityStreamSizeException.class, e -> complete(tooLarge()))
        .match(IndexUnavailableException.class, e -> complete(databaseUnavailable(e)))
        .matchAny(e -> complete(unexpected(e)))
        .build();
  }

  HttpResponse databaseUnavailable(IndexUnavailableException e) {
    log.warn("Database read failed: {}", e.getMessage());
    return withRetryAfter(
        responses.problem(Problem.unavailable("the database cannot be read right now; retry")));
  }

  HttpResponse unexpected(Throwable e) {
    Throwable cause = unwrap(e);
    if (cause instanceof EntityStreamSizeException) {
      return tooLarge();
    }
    if (cause instanceof ExceptionWithErrorInfo unreadable) {
      return unreadableBody(unreadable);
    }
    if (cause instanceof TimeoutException) {
      // Only reading a body (toStrict) times out here: the engine's asks answer 503 above.
      return responses.problem(
          Problem.of(
              408,
              "request-timeout",
              "Request timeout",
              "the body did not arrive within " + settings.bodyReadTimeout().toMillis() + " ms"));
    }
    log.error("Unexpected error answering a request", e);
    return responses.problem(
        Problem.internalError("the request failed unexpectedly; see the node's log"));
  }

  /**
   * What an ask to the engine answers when it failed: {@code what} (e.g. "the start of saga 'x'")
   * was refused (overloaded), or not confirmed in time, or failed. The line it logs carries saga
   * {@code sagaId}'s keys of the MDC, with {@code type} when known (else null).
   */
  HttpResponse unknownOutcome(Throwable e, String what, String sagaId, String type) {
    try (var mdc = SagaMdc.open(SagaMdc.of(sagaId, type, null, 0))) {
      return answerUnknown(unwrap(e), what);
    }
  }

  private HttpResponse answerUnknown(Throwable cause, String what) {
    if (cause instanceof SagaEngine.OverloadedException overloaded) {
      log.warn("{} was refused: {}", what, overloaded.getMessage());
      return withRetryAfter(
          responses.problem(
              Problem.of(
                  503,
                  "overloaded",
                  "Overloaded",
                  what
                      + " was refused, nothing was started: "
                      + overloaded.getMessage()
                      + ". Retry later with the same id.")));
    }
    if (cause instanceof AskTimeoutException || cause instanceof TimeoutException) {
      log.warn("{} was not confirmed in time", what);
      return withRetryAfter(
          responses.problem(
              Problem.unavailable(
                  what
                      + " was not confirmed in time (the journal may be slow or down, or the saga's node was just lost and its shard is moving): its outcome is unknown. Retry with the same id; a retry never starts a second saga.")));
    }
    log.error("{} failed", what, cause);
    return responses.problem(
        Problem.internalError(what + " failed unexpectedly; see the node's log"));
  }

  /**
   * The body broke off, was mis-framed or grew too large while streaming in: the client's fault.
   */
  private HttpResponse unreadableBody(ExceptionWithErrorInfo e) {
    int status = e instanceof IllegalRequestException illegal ? illegal.status().intValue() : 400;
    if (status == 413) {
      return tooLarge();
    }
    String summary = e.info().summary();
    log.debug("Unreadable request body: {}", summary);
    return responses.problem(
        Problem.rejected(
            status,
            StatusCodes.get(status).reason(),
            status == 400 ? "the body cannot be read: " + summary : summary));
  }

  private HttpResponse tooLarge() {
    return responses.problem(Problem.tooLarge(settings.maxBodyBytes()));
  }

  private static Throwable unwrap(Throwable e) {
    return e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
  }

  private HttpResponse withRetryAfter(HttpResponse response) {
    long millis = retryAfter.get().toMillis();
    long seconds = Math.max(1, (millis + 999) / 1000);
    return response.addHeader(RawHeader.create("Retry-After", Long.toString(seconds)));
  }
}
