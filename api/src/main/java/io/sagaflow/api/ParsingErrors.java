package io.sagaflow.api;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.ParsingErrorHandler;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCode;
import org.apache.pekko.http.scaladsl.settings.ServerSettings;

/**
 * Answers requests too malformed to reach the routes (request line, headers, framing) with a
 * problem instead of Pekko's plain text: {@code pekko.http.server.parsing.error-handler}.
 */
public final class ParsingErrors extends ParsingErrorHandler {
  private static final JsonResponses RESPONSES = new JsonResponses(new ObjectMapper());

  @Override
  public HttpResponse handle(
      StatusCode status, ErrorInfo info, LoggingAdapter log, ServerSettings settings) {
    // The summary only: the detail may quote a header, and headers carry tokens.
    log.warning("Illegal request, responding with status '{}': {}", status, info.summary());
    return RESPONSES.problem(Problem.rejected(status.intValue(), status.reason(), info.summary()));
  }
}
