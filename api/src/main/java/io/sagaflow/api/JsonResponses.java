package io.sagaflow.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;

/** Responses whose body Jackson writes: a DTO as JSON, a problem as problem+json. */
final class JsonResponses {
  static final ContentType.WithFixedCharset PROBLEM_JSON =
      ContentTypes.create(
          MediaTypes.applicationWithFixedCharset("problem+json", HttpCharsets.UTF_8));

  private final ObjectMapper json;

  JsonResponses(ObjectMapper mapper) {
    // Times and durations as ISO-8601 text, as openapi.yaml describes them.
    this.json =
        mapper
            .copy()
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
            .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS);
  }

  HttpResponse ok(int status, Object body) {
    return HttpResponse.create()
        .withStatus(status)
        .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, write(body)));
  }

  HttpResponse problem(Problem problem) {
    return HttpResponse.create()
        .withStatus(problem.status())
        .withEntity(HttpEntities.create(PROBLEM_JSON, write(problem)));
  }

  /** The problem as the body of {@code response}, which keeps its status and headers. */
  HttpResponse withProblem(HttpResponse response, Problem problem) {
    return response.withEntity(HttpEntities.create(PROBLEM_JSON, write(problem)));
  }

  private byte[] write(Object body) {
    try {
      return json.writeValueAsBytes(body);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write " + body.getClass().getSimpleName(), e);
    }
  }
}
