package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.server.Directives;
import org.apache.pekko.http.javadsl.server.Route;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class BearerAuthTest {
  private final BearerAuth auth =
      new BearerAuth(settings(List.of("t1", "t2")), ApiJson.responses());

  @ParameterizedTest
  @ValueSource(strings = {"Bearer t1", "Bearer t2", "bearer t1", "BEARER   t2  "})
  void anyConfiguredTokenIsLetIn(String header) {
    assertThat(auth.refusal(Optional.of(header))).isEmpty();
  }

  @ParameterizedTest
  @ValueSource(strings = {"Bearer t3", "Bearer t", "Bearer t1t2", "Bearer "})
  void anUnknownTokenIs401(String header) {
    assertRefused(auth.refusal(Optional.of(header)), "the bearer token is not valid");
  }

  @ParameterizedTest
  @ValueSource(strings = {"t1", "Basic dDE6dDE=", "Bearer"})
  void noBearerTokenIs401SayingWhatToSend(String header) {
    assertRefused(auth.refusal(Optional.of(header)), "send 'Authorization: Bearer <token>'");
  }

  @Test
  void noAuthorizationHeaderIs401SayingWhatToSend() {
    assertRefused(auth.refusal(Optional.empty()), "send 'Authorization: Bearer <token>'");
  }

  @Test
  void withoutTokensEveryRequestIsLetIn() {
    Route inner = Directives.complete("ok");

    assertThat(new BearerAuth(settings(List.of()), ApiJson.responses()).authenticated(() -> inner))
        .isSameAs(inner);
  }

  private static ApiSettings settings(List<String> tokens) {
    return new ApiSettings("127.0.0.1", 0, 1024, Duration.ofSeconds(2), 64, 1000, tokens);
  }

  private static void assertRefused(Optional<HttpResponse> refusal, String detail) {
    assertThat(refusal).isPresent();
    HttpResponse response = refusal.get();
    assertThat(response.status().intValue()).isEqualTo(401);
    assertThat(ApiJson.header(response, "WWW-Authenticate")).isEqualTo("Bearer realm=\"sagaflow\"");
    assertThat(ApiJson.tree(response))
        .isEqualTo(
            ApiJson.tree(
                ApiJson.responses()
                    .problem(Problem.of(401, "unauthorized", "Unauthorized", detail))));
  }
}
