package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.orchestrator.SagaReplies;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.SagaView;
import java.time.Instant;
import java.util.List;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.junit.jupiter.api.Test;

class EngineAnswersTest {
  private static final Instant NOW = Instant.parse("2025-01-02T03:04:05Z");
  private static final SagaView SAGA =
      new SagaView("s-1", "order", 1, SagaStatus.RUNNING, null, List.of(), null, null, NOW, NOW);

  private final EngineAnswers answers = new EngineAnswers(ApiJson.responses());

  @Test
  void aCreatedSagaIs201WithItsLocation() {
    HttpResponse response = answers.started(new SagaReplies.Accepted(SAGA, true));

    assertThat(response.status().intValue()).isEqualTo(201);
    assertThat(ApiJson.header(response, "Location")).isEqualTo("/v1/sagas/s-1");
    assertThat(ApiJson.header(response, "Idempotent-Replayed")).isNull();
    assertThat(ApiJson.tree(response).get("id").asText()).isEqualTo("s-1");
  }

  @Test
  void aRepeatedStartIs200WithItsLocationAndSaysItWasReplayed() {
    HttpResponse response = answers.started(new SagaReplies.Accepted(SAGA, false));

    assertThat(response.status().intValue()).isEqualTo(200);
    assertThat(ApiJson.header(response, "Location")).isEqualTo("/v1/sagas/s-1");
    assertThat(ApiJson.header(response, "Idempotent-Replayed")).isEqualTo("true");
  }

  @Test
  void anIdTakenByAnotherStartIs409() {
    HttpResponse response = answers.started(new SagaReplies.Conflict("taken", SAGA));

    assertThat(ApiJson.tree(response)).isEqualTo(ApiJson.tree(problem(Problem.conflict("taken"))));
  }

  @Test
  void anInvalidStartIs422NamingTheTypeOrTheInput() {
    var unknown = new SagaReplies.Invalid(SagaReplies.Problem.UNKNOWN_TYPE, "no such type");
    var invalid = new SagaReplies.Invalid(SagaReplies.Problem.INVALID_INPUT, "no customer");

    assertThat(ApiJson.tree(answers.started(unknown)).get("field").asText()).isEqualTo("type");
    assertThat(ApiJson.tree(answers.started(invalid)).get("field").asText()).isEqualTo("input");
    assertThat(answers.started(invalid).status().intValue()).isEqualTo(422);
  }

  @Test
  void aDoneCommandIs202WithTheSaga() {
    HttpResponse response = answers.commanded("s-1", new SagaReplies.Done(SAGA));

    assertThat(response.status().intValue()).isEqualTo(202);
    assertThat(ApiJson.tree(response).get("status").asText()).isEqualTo("RUNNING");
  }

  @Test
  void aRefusedCommandIs409AndAnUnknownSaga404() {
    assertThat(ApiJson.tree(answers.commanded("s-1", new SagaReplies.Refused("terminal", SAGA))))
        .isEqualTo(ApiJson.tree(problem(Problem.conflict("terminal"))));
    assertThat(ApiJson.tree(answers.commanded("s-1", new SagaReplies.NotFound())))
        .isEqualTo(ApiJson.tree(problem(SagaIds.notFound("s-1"))));
  }

  private static HttpResponse problem(Problem problem) {
    return ApiJson.responses().problem(problem);
  }
}
