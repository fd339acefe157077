package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.pekko.event.NoLogging;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.scaladsl.model.ErrorInfo;
import org.apache.pekko.http.scaladsl.model.StatusCodes;
import org.junit.jupiter.api.Test;

class ParsingErrorsTest {
  private final ParsingErrors errors = new ParsingErrors();

  @Test
  void aMalformedRequestIsAnInvalidRequestWithTheSummaryOnly() {
    HttpResponse response =
        errors.handle(
            StatusCodes.BadRequest(),
            new ErrorInfo("Illegal header", "Authorization: Bearer secret"),
            NoLogging.getInstance(),
            null);

    assertThat(response.status().intValue()).isEqualTo(400);
    assertThat(response.entity().getContentType()).isEqualTo(JsonResponses.PROBLEM_JSON);
    assertThat(ApiJson.tree(response))
        .isEqualTo(
            ApiJson.tree(ApiJson.responses().problem(Problem.badRequest("Illegal header", null))));
  }

  @Test
  void anyOtherStatusIsARejectionWithItsReason() {
    HttpResponse response =
        errors.handle(
            StatusCodes.UriTooLong(),
            new ErrorInfo("URI too long", "10000 characters"),
            NoLogging.getInstance(),
            null);

    assertThat(ApiJson.tree(response))
        .isEqualTo(
            ApiJson.tree(
                ApiJson.responses()
                    .problem(Problem.of(414, "request-rejected", "URI Too Long", "URI too long"))));
  }
}
