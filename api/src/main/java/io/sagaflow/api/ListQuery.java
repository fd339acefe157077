package io.sagaflow.api;

import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.persistence.index.SagaIndex;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** The parameters of {@code GET /v1/sagas?type=&status=&limit=&cursor=}. */
record ListQuery(
    Optional<String> type, Optional<SagaStatus> status, int limit, Optional<String> cursor) {
  private static final int DEFAULT_LIMIT = 50;
  private static final List<String> PARAMETERS = List.of("type", "status", "limit", "cursor");

  /**
   * The query the request's parameters ask for; an unknown or repeated parameter is refused. The
   * cursor is the index's to check, when it is read.
   */
  static ListQuery parse(List<Map.Entry<String, String>> parameters) throws InvalidRequest {
    Map<String, String> values = QueryParameters.check(parameters, PARAMETERS);
    return new ListQuery(
        Optional.ofNullable(values.get("type")),
        status(Optional.ofNullable(values.get("status"))),
        limit(Optional.ofNullable(values.get("limit"))),
        Optional.ofNullable(values.get("cursor")));
  }

  /** The page this query selects from the index. */
  SagaIndex.Page read(SagaIndex index) throws InvalidRequest {
    try {
      return index.list(type, status, limit, cursor);
    } catch (IllegalArgumentException e) {
      throw new InvalidRequest(
          Problem.badRequest("'cursor' is not a cursor this API returned", "cursor"));
    }
  }

  private static Optional<SagaStatus> status(Optional<String> status) throws InvalidRequest {
    try {
      return status.map(s -> SagaStatus.valueOf(s.toUpperCase(Locale.ROOT)));
    } catch (IllegalArgumentException e) {
      throw new InvalidRequest(
          Problem.badRequest("'status' must be one of " + List.of(SagaStatus.values()), "status"));
    }
  }

  private static int limit(Optional<String> limit) throws InvalidRequest {
    int size;
    try {
      size = limit.map(Integer::parseInt).orElse(DEFAULT_LIMIT);
    } catch (NumberFormatException e) {
      throw limitOutOfRange();
    }
    if (size < 1 || size > SagaIndex.MAX_LIMIT) {
      throw limitOutOfRange();
    }
    return size;
  }

  private static InvalidRequest limitOutOfRange() {
    return new InvalidRequest(
        Problem.badRequest("'limit' must be an integer from 1 to " + SagaIndex.MAX_LIMIT, "limit"));
  }
}
