package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class QueryParametersTest {
  private static final List<String> KNOWN = List.of("limit", "cursor");

  @Test
  void readsTheKnownParametersInTheRequestsOrder() throws Exception {
    assertThat(
            QueryParameters.check(List.of(Map.entry("cursor", "c"), Map.entry("limit", "")), KNOWN))
        .containsExactly(Map.entry("cursor", "c"), Map.entry("limit", ""));
  }

  @Test
  void nothingBetweenTwoSeparatorsIsNoParameter() throws Exception {
    assertThat(QueryParameters.check(List.of(Map.entry("", "")), List.of())).isEmpty();
  }

  @Test
  void anUnknownParameterIsNamed() {
    assertThat(Refusal.of(() -> QueryParameters.check(List.of(Map.entry("limt", "5")), KNOWN)))
        .isEqualTo(
            Problem.badRequest("unknown query parameter 'limt'; expected [limit, cursor]", "limt"));
  }

  @Test
  void aParameterWithoutANameIsUnknown() {
    assertThat(Refusal.of(() -> QueryParameters.check(List.of(Map.entry("", "x")), KNOWN)).field())
        .isEmpty();
  }

  @Test
  void anOperationWithoutParametersRefusesAny() {
    assertThat(Refusal.of(() -> QueryParameters.check(List.of(Map.entry("x", "1")), List.of())))
        .isEqualTo(Problem.badRequest("this operation takes no query parameters; got 'x'", "x"));
  }

  @Test
  void aRepeatedParameterIsRefusedEvenWithTheSameValue() {
    assertThat(
            Refusal.of(
                () ->
                    QueryParameters.check(
                        List.of(Map.entry("limit", "1"), Map.entry("limit", "1")), KNOWN)))
        .isEqualTo(
            Problem.badRequest(
                "the query parameter 'limit' is given more than once; give it once", "limit"));
  }

  @Test
  void aLongUnknownNameIsCutShort() {
    Problem problem =
        Refusal.of(() -> QueryParameters.check(List.of(Map.entry("p".repeat(100), "")), KNOWN));

    assertThat(problem.field()).isEqualTo("p".repeat(64) + "…");
    assertThat(problem.detail()).doesNotContain("p".repeat(65));
  }
}
