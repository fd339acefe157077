package io.sagaflow.api;

import static org.apache.pekko.http.javadsl.server.Directives.complete;

import java.util.List;
import org.apache.pekko.http.javadsl.model.HttpEntity;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.MethodRejection;
import org.apache.pekko.http.javadsl.server.RejectionHandler;

/** Rejections as problems: 405 with {@code Allow}, 404, and Pekko's plain-text answers. */
final class RejectionProblems {
  private final JsonResponses responses;

  RejectionProblems(JsonResponses responses) {
    this.responses = responses;
  }

  RejectionHandler handler() {
    return RejectionHandler.newBuilder()
        .handleAll(MethodRejection.class, rejections -> complete(methodNotAllowed(rejections)))
        .handleNotFound(complete(responses.problem(Problem.notFound("no such resource"))))
        .build()
        .withFallback(RejectionHandler.defaultHandler())
        .mapRejectionResponse(this::asProblem);
  }

  HttpResponse methodNotAllowed(List<MethodRejection> rejections) {
    String allowed =
        String.join(", ", rejections.stream().map(r -> r.supported().name()).distinct().toList());
    return responses
        .problem(Problem.of(405, "method-not-allowed", "Method not allowed", "allowed: " + allowed))
        .addHeader(RawHeader.create("Allow", allowed));
  }

  /** Turns Pekko's plain-text rejection answers into problems. */
  HttpResponse asProblem(HttpResponse response) {
    if (response.entity().getContentType().equals(JsonResponses.PROBLEM_JSON)) {
      return response;
    }
    int status = response.status().intValue();
    String detail =
        response.entity() instanceof HttpEntity.Strict strict
            ? strict.getData().utf8String()
            : response.status().reason();
    return responses.withProblem(
        response, Problem.of(status, "request-rejected", response.status().reason(), detail));
  }
}
