package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import io.sagaflow.node.SagaflowNode;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * A node whose API is open (no tokens) on an address other than loopback says so with one WARN line
 * at start; on loopback, or with tokens, it says where it listens at INFO.
 */
class UnauthenticatedBindIT {
  private final ListAppender<ILoggingEvent> logs = new ListAppender<>();
  private final Logger nodeLog = (Logger) LoggerFactory.getLogger(SagaflowNode.class);

  @BeforeEach
  void capture() {
    logs.setContext(nodeLog.getLoggerContext());
    logs.start();
    nodeLog.addAppender(logs);
  }

  @AfterEach
  void release() {
    nodeLog.detachAppender(logs);
    logs.stop();
  }

  @Test
  void anOpenApiOnEveryInterfaceIsAWarningNamingTheAddressAndTheTokens() {
    try (ApiFixture api = ApiFixture.start(Map.of("sagaflow.http.host", "0.0.0.0"), Map.of())) {
      List<ILoggingEvent> warnings = listening(Level.WARN);

      assertThat(warnings).hasSize(1);
      String warning = warnings.get(0).getFormattedMessage();
      assertThat(warning)
          .contains("0.0.0.0:" + api.node.httpPort())
          .contains("WITHOUT AUTHENTICATION")
          .contains("SAGAFLOW_API_TOKENS")
          .contains("sagaflow.http.tokens")
          .doesNotContain("\n");
      assertThat(listening(Level.INFO)).isEmpty();
    }
  }

  @Test
  void anOpenApiOnLoopbackIsNoWarning() {
    try (ApiFixture api = ApiFixture.start(Map.of("sagaflow.http.host", "127.0.0.1"), Map.of())) {
      assertThat(listening(Level.WARN)).isEmpty();
      assertThat(listening(Level.INFO))
          .singleElement()
          .satisfies(
              e ->
                  assertThat(e.getFormattedMessage()).contains("127.0.0.1:" + api.node.httpPort()));
    }
  }

  @Test
  void anApiWithTokensOnEveryInterfaceIsNoWarning() {
    try (ApiFixture api =
        ApiFixture.start(
            Map.of("sagaflow.http.host", "0.0.0.0"), Map.of("SAGAFLOW_API_TOKENS", "t-1"))) {
      assertThat(listening(Level.WARN)).isEmpty();
      assertThat(listening(Level.INFO)).hasSize(1);
    }
  }

  /** The node's lines about where the API listens, at {@code level}. */
  private List<ILoggingEvent> listening(Level level) {
    return logs.list.stream()
        .filter(e -> e.getLevel() == level)
        .filter(e -> e.getFormattedMessage().startsWith("HTTP API listening on"))
        .toList();
  }
}
