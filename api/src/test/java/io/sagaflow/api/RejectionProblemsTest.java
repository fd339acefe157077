package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Rejections;
import org.junit.jupiter.api.Test;

class RejectionProblemsTest {
  private final RejectionProblems rejections = new RejectionProblems(ApiJson.responses());

  @Test
  void aWrongMethodIs405AllowingEachMethodOnce() {
    HttpResponse response =
        rejections.methodNotAllowed(
            List.of(
                Rejections.method(HttpMethods.GET),
                Rejections.method(HttpMethods.POST),
                Rejections.method(HttpMethods.GET)));

    assertThat(response.status().intValue()).isEqualTo(405);
    assertThat(ApiJson.header(response, "Allow")).isEqualTo("GET, POST");
    assertThat(ApiJson.tree(response))
        .isEqualTo(
            ApiJson.tree(
                ApiJson.responses()
                    .problem(
                        Problem.of(
                            405,
                            "method-not-allowed",
                            "Method not allowed",
                            "allowed: GET, POST"))));
  }

  @Test
  void aPlainTextRejectionBecomesAProblemWithItsText() {
    HttpResponse plain =
        HttpResponse.create()
            .withStatus(400)
            .addHeader(RawHeader.create("X-Seen", "yes"))
            .withEntity(HttpEntities.create(ContentTypes.TEXT_PLAIN_UTF8, "The query is bad"));

    HttpResponse response = rejections.asProblem(plain);

    assertThat(response.status().intValue()).isEqualTo(400);
    assertThat(ApiJson.header(response, "X-Seen")).isEqualTo("yes");
    assertThat(response.entity().getContentType()).isEqualTo(JsonResponses.PROBLEM_JSON);
    assertThat(ApiJson.tree(response))
        .isEqualTo(
            ApiJson.tree(
                ApiJson.responses()
                    .problem(
                        Problem.of(400, "request-rejected", "Bad Request", "The query is bad"))));
  }

  @Test
  void aProblemIsLeftAsItIs() {
    HttpResponse problem = ApiJson.responses().problem(Problem.notFound("no such resource"));

    assertThat(rejections.asProblem(problem)).isSameAs(problem);
  }
}
