package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.persistence.index.SagaIndex;
import java.lang.reflect.Proxy;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ListQueryTest {
  private static final Instant NOW = Instant.parse("2026-12-02T12:00:00Z");

  @Test
  void readsTheAgeBoundsAndOverdueAsOfNow() throws Exception {
    ListQuery query =
        ListQuery.parse(
            List.of(
                Map.entry("createdAfter", "2026-12-01T10:00:00+01:00"),
                Map.entry("createdBefore", "2026-12-02T11:00:00Z"),
                Map.entry("overdue", "true")),
            NOW);
    assertThat(query.filter())
        .isEqualTo(
            SagaIndex.Filter.ALL
                .createdAfter(Optional.of(Instant.parse("2026-12-01T09:00:00Z")))
                .createdBefore(Optional.of(Instant.parse("2026-12-02T11:00:00Z")))
                .overdueAt(Optional.of(NOW)));
    assertThat(ListQuery.parse(List.of(Map.entry("overdue", "false")), NOW).filter())
        .isEqualTo(SagaIndex.Filter.ALL);
  }

  @ParameterizedTest
  @ValueSource(strings = {"yesterday", "2026-12-01", "2026-12-01T10:00:00", ""})
  void aTimeWithoutAnOffsetIsRefusedByName(String value) {
    assertThat(Refusal.of(() -> ListQuery.parse(List.of(Map.entry("createdAfter", value)), NOW)))
        .isEqualTo(
            Problem.badRequest(
                "'createdAfter' must be a date-time with an offset, e.g. 2026-12-01T10:15:30Z",
                "createdAfter"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"yes", "1", "TRUE", ""})
  void overdueIsTrueOrFalse(String value) {
    assertThat(Refusal.of(() -> ListQuery.parse(List.of(Map.entry("overdue", value)), NOW)))
        .isEqualTo(Problem.badRequest("'overdue' must be true or false", "overdue"));
  }

  @Test
  void noParametersListFiftyOfEveryTypeAndStatus() throws Exception {
    assertThat(parse(null, null, null, null))
        .isEqualTo(new ListQuery(SagaIndex.Filter.ALL, 50, Optional.empty()));
  }

  @Test
  void readsEveryParameterAndTheStatusInAnyCase() throws Exception {
    assertThat(parse("order", "completed", "500", "c"))
        .isEqualTo(
            new ListQuery(
                SagaIndex.Filter.ALL
                    .type(Optional.of("order"))
                    .status(Optional.of(SagaStatus.COMPLETED)),
                500,
                Optional.of("c")));
  }

  @ParameterizedTest
  @ValueSource(strings = {"bogus", ""})
  void anUnknownStatusIsRefused(String status) {
    assertThat(Refusal.of(() -> parse(null, status, null, null)))
        .isEqualTo(
            Problem.badRequest(
                "'status' must be one of [RUNNING, COMPENSATING, COMPLETED, COMPENSATED, FAILED]",
                "status"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"0", "501", "abc", "-1", "1.5", "", "99999999999"})
  void aLimitOutOfRangeIsRefused(String limit) {
    assertThat(Refusal.of(() -> parse(null, null, limit, null)))
        .isEqualTo(Problem.badRequest("'limit' must be an integer from 1 to 500", "limit"));
  }

  @Test
  void aCursorTheIndexDidNotMakeIsRefusedBeforeAnyQuery() throws Exception {
    ListQuery query = parse(null, null, null, "garbage!!");

    assertThat(Refusal.of(() -> query.read(new SagaIndex(unusable()))))
        .isEqualTo(Problem.badRequest("'cursor' is not a cursor this API returned", "cursor"));
  }

  @Test
  void anUnknownParameterIsRefusedByName() {
    assertThat(Refusal.of(() -> ListQuery.parse(List.of(Map.entry("sort", "")), NOW)))
        .isEqualTo(
            Problem.badRequest(
                "unknown query parameter 'sort'; expected [type, status, createdAfter, createdBefore,"
                    + " overdue, waitingFor, limit, cursor]",
                "sort"));
  }

  @Test
  void waitingForNamesASignalOrIsAStarForAny() throws Exception {
    assertThat(
            ListQuery.parse(List.of(Map.entry("waitingFor", "approval")), NOW)
                .filter()
                .waitingFor())
        .hasValue("approval");
    assertThat(ListQuery.parse(List.of(Map.entry("waitingFor", "*")), NOW).filter().waitingFor())
        .hasValue(SagaIndex.Filter.ANY_SIGNAL);
    assertThat(ListQuery.parse(List.of(), NOW).filter().waitingFor()).isEmpty();
    assertThat(Refusal.of(() -> ListQuery.parse(List.of(Map.entry("waitingFor", " ")), NOW)))
        .isEqualTo(
            Problem.badRequest(
                "'waitingFor' must name a signal, or be * for any signal", "waitingFor"));
  }

  @Test
  void aRepeatedParameterIsRefusedNotHalfRead() {
    assertThat(
            Refusal.of(
                () ->
                    ListQuery.parse(
                        List.of(Map.entry("limit", "1"), Map.entry("limit", "2")), NOW)))
        .isEqualTo(
            Problem.badRequest(
                "the query parameter 'limit' is given more than once; give it once", "limit"));
  }

  private static ListQuery parse(String type, String status, String limit, String cursor)
      throws InvalidRequest {
    var parameters = new ArrayList<Map.Entry<String, String>>();
    Map.of("type", Optional.ofNullable(type), "status", Optional.ofNullable(status))
        .forEach((name, value) -> value.ifPresent(v -> parameters.add(Map.entry(name, v))));
    Optional.ofNullable(limit).ifPresent(v -> parameters.add(Map.entry("limit", v)));
    Optional.ofNullable(cursor).ifPresent(v -> parameters.add(Map.entry("cursor", v)));
    return ListQuery.parse(parameters, NOW);
  }

  private static DataSource unusable() {
    return (DataSource)
        Proxy.newProxyInstance(
            ListQueryTest.class.getClassLoader(),
            new Class<?>[] {DataSource.class},
            (proxy, method, args) -> {
              throw new AssertionError("the database was asked: " + method.getName());
            });
  }
}
