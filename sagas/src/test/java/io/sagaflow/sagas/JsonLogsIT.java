package io.sagaflow.sagas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runnable jar's log output, as a log pipeline reads it from stdout: with {@code
 * SAGAFLOW_LOG_FORMAT=json} every line is one JSON object, the lines about a saga carry its id as
 * {@code sagaId}, and the saga's input is never written; without the setting the lines are text.
 *
 * <p>Builds nothing: failsafe runs it in {@code integration-test}, after {@code package} has built
 * {@code target/sagaflow.jar}. The node's output is kept in {@code target/json-logs/}.
 */
class JsonLogsIT {
  private static final Path MODULE =
      Path.of(System.getProperty("basedir", ".")).toAbsolutePath().normalize();
  private static final Path JAR = MODULE.resolve("target/sagaflow.jar");
  private static final Path OUTPUT = MODULE.resolve("target/json-logs");

  private static final Duration STARTUP = Duration.ofSeconds(90);
  private static final Duration SETTLE = Duration.ofSeconds(30);
  private static final Duration SHUTDOWN = Duration.ofSeconds(60);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  // In the input only: the customer id is sent to no participant and named in no error.
  private static final String MARKER = "cust-MARKER-5e1f0c2a";

  @TempDir Path workDir;

  private Process node;
  private Path stdout;
  private int apiPort;

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void withJsonEveryLineIsAnObjectAndTheLinesAboutASagaCarryItsIdButNotItsInput() throws Exception {
    startNode("json", Optional.of("json"));
    String id = "order-json-1";
    // Declined (amount over 1000): the entity logs the rejection, and the reservation is undone.
    HttpResponse<String> started =
        post(
            "/v1/sagas",
            "{\"type\":\"order-fulfillment\",\"id\":\""
                + id
                + "\",\"input\":{\"orderId\":\""
                + id
                + "\",\"customerId\":\""
                + MARKER
                + "\",\"sku\":\"SKU-42\",\"quantity\":1,\"amount\":5000,\"currency\":\"EUR\"}}");
    assertThat(started.statusCode()).as(started.body()).isEqualTo(201);
    await(
        "saga " + id + " COMPENSATED",
        () ->
            get("/v1/sagas/" + id)
                .map(r -> r.body().contains("\"status\":\"COMPENSATED\""))
                .orElse(false));
    await("the compensation's line", () -> read(stdout).contains(id + "/reserve-inventory/comp"));
    stopNode();

    List<JsonNode> lines = new ArrayList<>();
    for (String line : Files.readAllLines(stdout)) {
      JsonNode parsed;
      try {
        parsed = JSON.readTree(line);
      } catch (IOException e) {
        throw new AssertionError("a line of stdout that is not JSON (" + stdout + "):\n" + line, e);
      }
      assertThat(parsed.isObject()).as("a JSON object: %s", line).isTrue();
      lines.add(parsed);
    }
    assertThat(lines).as("the node's lines, up to its last").isNotEmpty();
    assertThat(lines.get(lines.size() - 1).path("message").asText()).isEqualTo("Stopped");
    assertThat(lines)
        .allSatisfy(
            l ->
                assertThat(l.fieldNames())
                    .toIterable()
                    .contains("@timestamp", "level", "logger_name", "thread_name", "message"));

    List<JsonNode> aboutSaga =
        lines.stream().filter(l -> l.path("message").asText().contains(id)).toList();
    assertThat(aboutSaga).as("lines that name the saga").hasSizeGreaterThanOrEqualTo(3);
    assertThat(aboutSaga).allSatisfy(l -> assertThat(l.path("sagaId").asText()).isEqualTo(id));
    List<JsonNode> entity =
        lines.stream()
            .filter(
                l -> l.path("logger_name").asText().equals("io.sagaflow.orchestrator.SagaEntity"))
            .toList();
    assertThat(entity).as("the saga entity's lines").isNotEmpty();
    assertThat(entity)
        .allSatisfy(
            l -> {
              assertThat(l.path("sagaId").asText()).isEqualTo(id);
              assertThat(l.path("sagaType").asText()).isEqualTo("order-fulfillment");
            });
    assertThat(entity)
        .anySatisfy(
            l -> {
              assertThat(l.path("message").asText()).startsWith("Step authorize-payment rejected");
              assertThat(l.path("sagaStep").asText()).isEqualTo("authorize-payment");
              assertThat(l.path("sagaAttempt").asText()).isEqualTo("1");
            });
    assertThat(read(stdout)).as("the saga's input in the log").doesNotContain(MARKER);
  }

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void withoutTheSettingTheLinesAreText() throws Exception {
    startNode("text", Optional.empty());
    stopNode();

    List<String> lines = Files.readAllLines(stdout);
    assertThat(lines).anyMatch(l -> l.contains("io.sagaflow.sagas.Main - Sagaflow running"));
    assertThat(lines)
        .allSatisfy(l -> assertThat(l).doesNotStartWith("{"))
        .anySatisfy(l -> assertThat(l).matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} INFO  \\[\\] .+"));
  }

  // ---- the node ---------------------------------------------------------------------------------

  private void startNode(String name, Optional<String> format) throws IOException {
    assertThat(JAR)
        .as(
            "the runnable jar; `mvn package` builds it before failsafe runs this test"
                + " (run `mvn -B -DskipTests package` first when running the test on its own)")
        .isRegularFile();
    Files.createDirectories(OUTPUT);
    stdout = OUTPUT.resolve(name + ".out");
    int[] ports = freePorts(4);
    apiPort = ports[0];
    var command =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                JAR.toString())
            .directory(workDir.toFile())
            .redirectOutput(stdout.toFile())
            .redirectError(OUTPUT.resolve(name + ".err").toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
    Map<String, String> env = command.environment();
    env.keySet().removeIf(key -> key.startsWith("SAGAFLOW_"));
    format.ifPresent(value -> env.put("SAGAFLOW_LOG_FORMAT", value));
    env.put("SAGAFLOW_HTTP_PORT", Integer.toString(apiPort));
    env.put("SAGAFLOW_DEMO_PORT", Integer.toString(ports[1]));
    env.put("SAGAFLOW_REMOTE_PORT", Integer.toString(ports[2]));
    env.put("SAGAFLOW_MANAGEMENT_PORT", Integer.toString(ports[3]));
    node = command.start();
    await(
        "the node's HTTP API on port " + apiPort,
        STARTUP,
        () -> get("/v1/saga-types").map(r -> r.statusCode() == 200).orElse(false));
    await("the node's ready line", () -> read(stdout).contains("Sagaflow running"));
  }

  private void stopNode() throws InterruptedException {
    node.destroy(); // SIGTERM
    assertThat(node.waitFor(SHUTDOWN.toSeconds(), TimeUnit.SECONDS))
        .as("the node exits within %s of SIGTERM; see %s", SHUTDOWN, stdout)
        .isTrue();
    assertThat(node.exitValue()).as("exit status after SIGTERM; see %s", stdout).isZero();
  }

  @AfterEach
  void stopWhatIsLeft() throws Exception {
    if (node != null && node.isAlive()) {
      node.destroy();
      if (!node.waitFor(SHUTDOWN.toSeconds(), TimeUnit.SECONDS)) {
        node.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
  }

  private void await(String what, BooleanSupplier condition) {
    await(what, SETTLE, condition);
  }

  /** Polls until {@code condition} holds; fails early if the node exits. */
  private void await(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail("timed out after %s waiting for %s; node output: %s", timeout, what, stdout);
      }
      try {
        if (node.waitFor(100, TimeUnit.MILLISECONDS)) {
          fail("the node exited (%d) waiting for %s; see %s", node.exitValue(), what, stdout);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what, e);
      }
    }
  }

  private Optional<HttpResponse<String>> get(String path) {
    return send(HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(5)).GET().build());
  }

  private HttpResponse<String> post(String path, String json) {
    return send(HttpRequest.newBuilder(uri(path))
            .timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json))
            .build())
        .orElseThrow(() -> new AssertionError("POST " + path + " got no answer"));
  }

  private URI uri(String path) {
    return URI.create("http://127.0.0.1:" + apiPort + path);
  }

  private static Optional<HttpResponse<String>> send(HttpRequest request) {
    try {
      return Optional.of(HTTP.send(request, HttpResponse.BodyHandlers.ofString()));
    } catch (IOException e) {
      return Optional.empty(); // not listening yet
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  private static String read(Path file) {
    try {
      return Files.readString(file);
    } catch (IOException e) {
      throw new AssertionError("cannot read " + file, e);
    }
  }

  private static int[] freePorts(int count) throws IOException {
    var sockets = new ArrayList<ServerSocket>();
    try {
      for (int i = 0; i < count; i++) {
        sockets.add(new ServerSocket(0));
      }
      return sockets.stream().mapToInt(ServerSocket::getLocalPort).toArray();
    } finally {
      for (ServerSocket socket : sockets) {
        socket.close();
      }
    }
  }
}
