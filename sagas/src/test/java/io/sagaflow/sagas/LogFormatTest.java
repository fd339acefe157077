package io.sagaflow.sagas;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.joran.JoranConfigurator;
import ch.qos.logback.core.status.Status;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sagaflow.orchestrator.telemetry.SagaMdc;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.MDC;

/**
 * The node's logback.xml (the one in the runnable jar), loaded into a logger context of its own:
 * {@code SAGAFLOW_LOG_FORMAT=json} makes every line one JSON object with the MDC, and anything else
 * logs text.
 */
class LogFormatTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final URL NODE_CONFIG = Main.class.getResource("/logback.xml");

  private final PrintStream stdout = System.out;

  @AfterEach
  void restore() {
    System.setOut(stdout);
    System.clearProperty(LogFormat.SETTING);
    MDC.clear();
  }

  @Test
  void theSettingNamesTheAppenderAndAnythingElseIsTextWithAWarning() {
    List<String> warnings = new ArrayList<>();
    assertThat(LogFormat.appender(null, warnings::add)).isEqualTo("text");
    assertThat(LogFormat.appender("", warnings::add)).isEqualTo("text");
    assertThat(LogFormat.appender("text", warnings::add)).isEqualTo("text");
    assertThat(LogFormat.appender(" JSON ", warnings::add)).isEqualTo("json");
    assertThat(warnings).isEmpty();

    assertThat(LogFormat.appender("jsn", warnings::add)).isEqualTo("text");
    assertThat(warnings)
        .containsExactly("SAGAFLOW_LOG_FORMAT='jsn' is neither text nor json: logging text");
  }

  @Test
  void jsonIsOneObjectALineWithTheMdcLevelLoggerThreadMessageAndStackTrace() throws Exception {
    System.setProperty(LogFormat.SETTING, "json");
    List<String> lines = logWithNodeConfig();

    assertThat(lines).hasSize(2);
    JsonNode info = JSON.readTree(lines.get(0));
    assertThat(info.path("message").asText()).isEqualTo("step done");
    assertThat(info.path("level").asText()).isEqualTo("INFO");
    assertThat(info.path("logger_name").asText()).isEqualTo("io.sagaflow.test");
    assertThat(info.path("thread_name").asText()).isEqualTo(Thread.currentThread().getName());
    assertThat(info.path("@timestamp").asText()).isNotEmpty();
    assertThat(info.path(SagaMdc.SAGA_ID).asText()).isEqualTo("order-7");
    assertThat(info.path(SagaMdc.SAGA_TYPE).asText()).isEqualTo("order");
    assertThat(info.path(SagaMdc.SAGA_STEP).asText()).isEqualTo("charge");
    assertThat(info.path(SagaMdc.SAGA_ATTEMPT).asText()).isEqualTo("2");
    JsonNode error = JSON.readTree(lines.get(1));
    assertThat(error.path("level").asText()).isEqualTo("ERROR");
    assertThat(error.path("stack_trace").asText())
        .contains("IllegalStateException: broken")
        .contains("at io.sagaflow.sagas.LogFormatTest");
  }

  @Test
  void withoutTheSettingLinesAreTextWithTheSagaIdInBrackets() throws Exception {
    List<String> lines = logWithNodeConfig();

    assertThat(lines.get(0))
        .matches(
            "\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  \\[order-7\\] io\\.sagaflow\\.test - step done");
    assertThat(lines.get(0)).doesNotStartWith("{");
    assertThat(lines).anyMatch(line -> line.contains("java.lang.IllegalStateException: broken"));
  }

  @Test
  void anUnknownFormatLogsTextAndSaysSo() throws Exception {
    System.setProperty(LogFormat.SETTING, "yaml");
    LoggerContext context = new LoggerContext();
    List<String> lines = logWith(context);

    assertThat(lines.get(0)).endsWith("io.sagaflow.test - step done");
    assertThat(context.getStatusManager().getCopyOfStatusList())
        .extracting(Status::getMessage)
        .contains("SAGAFLOW_LOG_FORMAT='yaml' is neither text nor json: logging text");
  }

  /**
   * {@link #logWith} a fresh context, which must have configured without a warning: at any warning
   * logback prints its whole startup status on stdout, as text.
   */
  private static List<String> logWithNodeConfig() throws Exception {
    LoggerContext context = new LoggerContext();
    List<String> lines = logWith(context);
    assertThat(context.getStatusManager().getCopyOfStatusList())
        .as("logback's status while configuring")
        .allMatch(status -> status.getLevel() < Status.WARN);
    return lines;
  }

  /** Configures {@code context} from the node's logback.xml, logs two lines, returns stdout's. */
  private static List<String> logWith(LoggerContext context) throws Exception {
    assertThat(NODE_CONFIG).as("the node's logback.xml").isNotNull();
    var out = new ByteArrayOutputStream();
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    // The MDC that slf4j's MDC class writes to, which a context of its own does not have.
    context.setMDCAdapter(MDC.getMDCAdapter());
    var configurator = new JoranConfigurator();
    configurator.setContext(context);
    configurator.doConfigure(NODE_CONFIG);
    Logger log = context.getLogger("io.sagaflow.test");
    try (var mdc = SagaMdc.open(SagaMdc.of("order-7", "order", "charge", 2))) {
      log.info("step done");
      log.error("step failed", new IllegalStateException("broken"));
    } finally {
      context.stop();
    }
    return out.toString(StandardCharsets.UTF_8).lines().toList();
  }
}
