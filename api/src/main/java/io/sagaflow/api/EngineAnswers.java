package io.sagaflow.api;

import io.sagaflow.orchestrator.SagaReplies;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;

/** The engine's replies to a start and to an operator command, as HTTP answers. */
final class EngineAnswers {
  private final JsonResponses responses;

  EngineAnswers(JsonResponses responses) {
    this.responses = responses;
  }

  /** 201 when created, 200 (replayed) when the same start came before; 409; 422. */
  HttpResponse started(SagaReplies.StartReply reply) {
    if (reply instanceof SagaReplies.Accepted accepted) {
      HttpResponse response =
          responses
              .ok(accepted.created() ? 201 : 200, accepted.saga())
              .addHeader(Location.create("/v1/sagas/" + accepted.saga().id()));
      return accepted.created()
          ? response
          : response.addHeader(RawHeader.create("Idempotent-Replayed", "true"));
    }
    if (reply instanceof SagaReplies.Conflict conflict) {
      return responses.problem(Problem.conflict(conflict.detail()));
    }
    return responses.problem(Problem.refusedStart((SagaReplies.Invalid) reply));
  }

  /**
   * 202 when done, 409 when refused, 422 for a signal the saga waits for none of, 404 when saga
   * {@code id} is not there.
   */
  HttpResponse commanded(String id, SagaReplies.OperatorReply reply) {
    if (reply instanceof SagaReplies.Done done) {
      return responses.ok(202, done.saga());
    }
    if (reply instanceof SagaReplies.Refused refused) {
      return responses.problem(Problem.conflict(refused.detail()));
    }
    if (reply instanceof SagaReplies.UnknownSignal unknown) {
      return responses.problem(
          Problem.unprocessable("unknown-signal", "Unknown signal", unknown.detail(), "name"));
    }
    return responses.problem(SagaIds.notFound(id));
  }
}
