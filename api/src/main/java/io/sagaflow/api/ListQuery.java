package io.sagaflow.api;

import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.persistence.index.SagaIndex;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The parameters of {@code GET
 * /v1/sagas?type=&status=&createdAfter=&createdBefore=&overdue=&waitingFor=&limit=&cursor=}.
 */
record ListQuery(SagaIndex.Filter filter, int limit, Optional<String> cursor) {
  private static final int DEFAULT_LIMIT = 50;
  private static final List<String> PARAMETERS =
      List.of(
          "type",
          "status",
          "createdAfter",
          "createdBefore",
          "overdue",
          "waitingFor",
          "limit",
          "cursor");

  /**
   * The query the request's parameters ask for, at {@code now} (what {@code overdue} compares
   * deadlines with); an unknown or repeated parameter is refused. The cursor is the index's to
   * check, when it is read.
   */
  static ListQuery parse(List<Map.Entry<String, String>> parameters, Instant now)
      throws InvalidRequest {
    Map<String, String> values = QueryParameters.check(parameters, PARAMETERS);
    var filter =
        SagaIndex.Filter.ALL
            .type(Optional.ofNullable(values.get("type")))
            .status(status(Optional.ofNullable(values.get("status"))))
            .createdAfter(instant(values, "createdAfter"))
            .createdBefore(instant(values, "createdBefore"))
            .overdueAt(overdue(values) ? Optional.of(now) : Optional.empty())
            .waitingFor(waitingFor(values));
    return new ListQuery(
        filter,
        limit(Optional.ofNullable(values.get("limit"))),
        Optional.ofNullable(values.get("cursor")));
  }

  /** The page this query selects from the index. */
  SagaIndex.Page read(SagaIndex index) throws InvalidRequest {
    try {
      return index.list(filter, limit, cursor);
    } catch (IllegalArgumentException e) {
      throw new InvalidRequest(
          Problem.badRequest("'cursor' is not a cursor this API returned", "cursor"));
    }
  }

  private static Optional<Instant> instant(Map<String, String> values, String name)
      throws InvalidRequest {
    String value = values.get(name);
    if (value == null) {
      return Optional.empty();
    }
    try {
      return Optional.of(OffsetDateTime.parse(value).toInstant());
    } catch (DateTimeParseException e) {
      throw new InvalidRequest(
          Problem.badRequest(
              "'" + name + "' must be a date-time with an offset, e.g. 2026-12-01T10:15:30Z",
              name));
    }
  }

  /** A signal's name, or {@code *} for any signal. */
  private static Optional<String> waitingFor(Map<String, String> values) throws InvalidRequest {
    String value = values.get("waitingFor");
    if (value != null && value.isBlank()) {
      throw new InvalidRequest(
          Problem.badRequest(
              "'waitingFor' must name a signal, or be * for any signal", "waitingFor"));
    }
    return Optional.ofNullable(value);
  }

  private static boolean overdue(Map<String, String> values) throws InvalidRequest {
    String value = values.get("overdue");
    if (value == null || value.equals("false")) {
      return false;
    }
    if (value.equals("true")) {
      return true;
    }
    throw new InvalidRequest(Problem.badRequest("'overdue' must be true or false", "overdue"));
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
