package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.time.Duration;
import java.time.Instant;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.junit.jupiter.api.Test;

class JsonResponsesTest {
  private final JsonResponses responses = ApiJson.responses();

  record Times(Instant at, Duration after) {}

  @Test
  void aBodyIsJsonWithTheStatusAsked() {
    HttpResponse response = responses.ok(202, new Times(null, null));

    assertThat(response.status().intValue()).isEqualTo(202);
    assertThat(response.entity().getContentType()).isEqualTo(ContentTypes.APPLICATION_JSON);
    assertThat(ApiJson.text(response)).isEqualTo("{\"at\":null,\"after\":null}");
  }

  @Test
  void timesAndDurationsAreIsoTextWhateverTheMapperWasSetTo() {
    ObjectMapper timestamps =
        ApiJson.mapper()
            .enable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .enable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS);
    var times = new Times(Instant.parse("2025-01-02T03:04:05.120Z"), Duration.ofMillis(1500));

    assertThat(ApiJson.text(new JsonResponses(timestamps).ok(200, times)))
        .isEqualTo("{\"at\":\"2025-01-02T03:04:05.120Z\",\"after\":\"PT1.5S\"}");
  }

  @Test
  void aProblemIsProblemJsonWithItsStatusAndNoNullField() {
    HttpResponse response = responses.problem(Problem.conflict("taken"));

    assertThat(response.status().intValue()).isEqualTo(409);
    assertThat(response.entity().getContentType().toString())
        .startsWith("application/problem+json");
    assertThat(ApiJson.text(response))
        .isEqualTo(
            "{\"type\":\"https://sagaflow.dev/problems/conflict\",\"title\":\"Conflict\","
                + "\"status\":409,\"detail\":\"taken\"}");
  }

  @Test
  void withProblemKeepsTheResponsesStatusAndHeaders() {
    HttpResponse plain =
        HttpResponse.create().withStatus(400).addHeader(RawHeader.create("X-Seen", "yes"));

    HttpResponse response = responses.withProblem(plain, Problem.badRequest("bad", "f"));

    assertThat(response.status().intValue()).isEqualTo(400);
    assertThat(ApiJson.header(response, "X-Seen")).isEqualTo("yes");
    assertThat(response.entity().getContentType()).isEqualTo(JsonResponses.PROBLEM_JSON);
    assertThat(ApiJson.tree(response).get("field").asText()).isEqualTo("f");
  }
}
