package io.sagaflow.sagas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The README's quick start, done as a user would do it: the runnable jar started with {@code java
 * -jar} in an empty directory (so {@code ./data} is new), then every command of the walkthrough run
 * with bash, each answer checked, then SIGTERM, after which the node must stop cleanly and exit 0.
 *
 * <p>The walkthrough's commands are the {@code ```sh} blocks of README.md that follow a {@code <!--
 * quickstart: name -->} marker; they run in README order, with the ports 8080 and 8081 replaced by
 * free ones. Every marked block needs a check here, and every check a block, so the README cannot
 * drift from what works.
 *
 * <p>Builds nothing: failsafe runs it in {@code integration-test}, after {@code package} has built
 * {@code target/sagaflow.jar}. The node's output and the commands' answers are kept in {@code
 * target/quickstart/}.
 */
class QuickStartIT {

  private static final Path MODULE =
      Path.of(System.getProperty("basedir", ".")).toAbsolutePath().normalize();
  private static final Path JAR = MODULE.resolve("target/sagaflow.jar");
  private static final Path README = MODULE.resolve("../README.md").normalize();
  private static final Path OUTPUT = MODULE.resolve("target/quickstart");

  private static final String BUILD_AND_RUN =
      "mvn -B -q -DskipTests package && java -jar sagas/target/sagaflow.jar";
  private static final String TEST_COMMAND = "mvn -B verify";
  private static final int README_API_PORT = 8080;
  private static final int README_DEMO_PORT = 8081;

  private static final Pattern MARKER =
      Pattern.compile("<!--\\s*quickstart:\\s*([a-z0-9-]+)\\s*-->");
  private static final Pattern LOCAL_PORT = Pattern.compile("(?:localhost|127\\.0\\.0\\.1):(\\d+)");
  private static final Pattern READY = Pattern.compile("logs `(Sagaflow running[^`]*)`");
  private static final Pattern POSTMASTER_PID =
      Pattern.compile("Embedded PostgreSQL listening on port \\d+ \\(pid (\\d+)\\)");

  private static final Duration STARTUP = Duration.ofSeconds(90);
  private static final Duration SETTLE = Duration.ofSeconds(20);
  private static final Duration BLOCK_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration SHUTDOWN = Duration.ofSeconds(60);
  private static final Duration POLL = Duration.ofMillis(100);

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @TempDir Path workDir;

  private Process node;
  private Path nodeLog;
  private Path walkthroughLog;
  private int apiPort;
  private int demoPort;

  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void theQuickStartWorksAsWritten() throws Exception {
    assertThat(JAR)
        .as(
            "the runnable jar; `mvn package` builds it before failsafe runs this test"
                + " (run `mvn -B -DskipTests package` first when running the test on its own)")
        .isRegularFile();
    String readme = Files.readString(README);
    assertThat(quickStartSection(readme))
        .as("the Quick start section of %s", README)
        .contains(BUILD_AND_RUN)
        .contains(TEST_COMMAND);
    Matcher ready = READY.matcher(quickStartSection(readme));
    assertThat(ready.find())
        .as("the Quick start says which log line means the node is ready")
        .isTrue();
    Map<String, String> blocks = markedBlocks(readme);
    Map<String, Check> checks = walkthrough();
    assertThat(List.copyOf(blocks.keySet()))
        .as("the blocks marked <!-- quickstart: name --> in README.md, and their checks here")
        .containsExactlyElementsOf(checks.keySet());

    requireOnPath("bash", "--version");
    requireOnPath("curl", "--version");
    startNode();
    assertThat(Files.readString(nodeLog))
        .as("the node's log (%s) says it is ready as the README says", nodeLog)
        .contains(ready.group(1));
    for (var block : blocks.entrySet()) {
      Check check = checks.get(block.getKey());
      check.before().run();
      String output = run(block.getKey(), block.getValue());
      try {
        check.verify().accept(output);
      } catch (AssertionError | RuntimeException e) {
        throw new AssertionError(
            "README block '" + block.getKey() + "' answered unexpectedly:\n" + output, e);
      }
    }
    stopNodeAndCheckItStoppedCleanly();
  }

  /** What each marked block of the README must do, in README order. */
  private Map<String, Check> walkthrough() {
    var checks = new LinkedHashMap<String, Check>();
    checks.put("start-order", Check.of(out -> assertStarted(single(out), "order-1001")));
    checks.put(
        "get-order",
        after(
            "order-1001",
            "COMPLETED",
            out -> {
              JsonNode saga = single(out);
              assertThat(saga.path("status").asText()).isEqualTo("COMPLETED");
              assertThat(stepStatuses(saga))
                  .containsExactly(
                      entry("reserve-inventory", "SUCCEEDED"),
                      entry("authorize-payment", "SUCCEEDED"),
                      entry("create-shipment", "SUCCEEDED"));
              assertThat(
                      step(saga, "reserve-inventory").path("output").path("reservationId").asText())
                  .startsWith("res-");
            }));
    checks.put("start-declined-order", Check.of(out -> assertStarted(single(out), "order-1002")));
    checks.put(
        "get-declined-order",
        after(
            "order-1002",
            "COMPENSATED",
            out -> {
              JsonNode saga = single(out);
              assertThat(saga.path("status").asText()).isEqualTo("COMPENSATED");
              assertThat(stepStatuses(saga))
                  .containsExactly(
                      entry("reserve-inventory", "COMPENSATED"),
                      entry("authorize-payment", "REJECTED"),
                      entry("create-shipment", "PENDING"));
              assertThat(saga.path("failure").asText())
                  .contains("step 'authorize-payment' was rejected")
                  .contains("402")
                  .contains("amounts above 1000 are declined");
            }));
    checks.put(
        "events-declined-order",
        Check.of(
            out -> {
              List<JsonNode> events = events(single(out), "order-1002");
              assertThat(events)
                  .extracting(e -> e.path("type").asText())
                  .containsExactly("SagaStarted", "StepSucceeded", "StepFailed", "StepCompensated");
              assertThat(events)
                  .extracting(e -> e.path("sequenceNr").asLong())
                  .containsExactly(1L, 2L, 3L, 4L);
              assertThat(texts(events.get(2).path("data").path("compensations")))
                  .containsExactly("reserve-inventory");
              assertThat(events.get(3).path("data").path("step").asText())
                  .isEqualTo("reserve-inventory");
            }));
    checks.put(
        "start-order-again",
        Check.of(
            out -> {
              RawAnswer answer = RawAnswer.parse(out);
              assertThat(answer.status()).isEqualTo(200);
              assertThat(answer.header("Idempotent-Replayed")).contains("true");
              assertThat(answer.json().path("id").asText()).isEqualTo("order-1001");
              assertThat(answer.json().path("status").asText()).isEqualTo("COMPLETED");
            }));
    checks.put(
        "start-order-conflict",
        Check.of(
            out -> {
              RawAnswer answer = RawAnswer.parse(out);
              assertThat(answer.status()).isEqualTo(409);
              assertThat(answer.header("Content-Type")).contains("application/problem+json");
              assertThat(answer.json().path("detail").asText()).contains("order-1001");
            }));
    checks.put(
        "list-orders",
        new Check(
            () ->
                await(
                    "the saga index to list order-1001 and order-1002 as finished",
                    () ->
                        listed("order-fulfillment")
                            .equals(
                                Map.of("order-1002", "COMPENSATED", "order-1001", "COMPLETED"))),
            out -> {
              JsonNode page = single(out);
              assertThat(page.path("items"))
                  .extracting(i -> i.path("id").asText() + " " + i.path("status").asText())
                  .containsExactly("order-1002 COMPENSATED", "order-1001 COMPLETED");
              assertThat(page.path("nextCursor").isNull()).isTrue();
            }));
    checks.put(
        "start-order-with-faults",
        Check.of(
            out -> {
              List<JsonNode> answers = answers(out, 2);
              assertThat(answers.get(0).path("fault").path("remaining").asInt()).isEqualTo(2);
              assertStarted(answers.get(1), "order-1003");
            }));
    checks.put(
        "get-retried-order",
        after(
            "order-1003",
            "COMPLETED",
            out -> {
              JsonNode shipment = step(single(out), "create-shipment");
              assertThat(shipment.path("status").asText()).isEqualTo("SUCCEEDED");
              assertThat(shipment.path("attempts").asInt()).isEqualTo(3);
            }));
    checks.put(
        "shipping-ledger",
        Check.of(
            out -> {
              JsonNode ledger = single(out);
              List<JsonNode> entries =
                  elements(ledger.path("entries")).stream()
                      .filter(e -> e.path("reference").asText().equals("order-1003"))
                      .toList();
              assertThat(entries).hasSize(1);
              assertThat(entries.get(0).path("operation").asText()).isEqualTo("create");
              assertThat(entries.get(0).path("effect").asText()).isEqualTo("APPLIED");
              assertThat(entries.get(0).path("idempotencyKey").asText())
                  .isEqualTo("order-1003/create-shipment");
              assertThat(ledger.path("calls").path("faulted").asInt()).isEqualTo(2);
            }));
    checks.put(
        "describe-trip",
        Check.of(
            out -> {
              JsonNode type = single(out);
              assertThat(type.path("type").asText()).isEqualTo("trip-booking");
              JsonNode steps = type.path("versions").path(0).path("steps");
              assertThat(steps)
                  .extracting(s -> s.path("name").asText() + " " + s.path("kind").asText())
                  .containsExactly(
                      "reserve-flight COMPENSATABLE",
                      "reserve-hotel COMPENSATABLE",
                      "manager-approval COMPENSATABLE",
                      "charge-card PIVOT",
                      "send-confirmation RETRIABLE");
              assertThat(steps)
                  .extracting(s -> s.path("group").asText())
                  .containsExactly("reservations", "reservations", "", "", "");
            }));
    checks.put("start-trip", Check.of(out -> assertStarted(single(out), "trip-2001")));
    checks.put(
        "get-trip",
        after(
            "trip-2001",
            "COMPLETED",
            out ->
                assertThat(stepStatuses(single(out)))
                    .containsExactly(
                        entry("reservations", "SUCCEEDED"),
                        entry("reserve-flight", "SUCCEEDED"),
                        entry("reserve-hotel", "SUCCEEDED"),
                        entry("manager-approval", "SUCCEEDED"),
                        entry("charge-card", "SUCCEEDED"),
                        entry("send-confirmation", "SUCCEEDED"))));
    checks.put("start-declined-trip", Check.of(out -> assertStarted(single(out), "trip-2002")));
    checks.put(
        "events-declined-trip",
        after(
            "trip-2002",
            "COMPENSATED",
            out -> {
              List<JsonNode> events = events(single(out), "trip-2002");
              assertThat(events)
                  .extracting(e -> e.path("type").asText())
                  .containsExactly(
                      "SagaStarted",
                      "BranchesStarted",
                      "BranchSucceeded",
                      "BranchSucceeded",
                      "StepSucceeded",
                      "StepFailed",
                      "StepCompensated",
                      "StepCompensated");
              // The two reservations answer in either order: they run at once.
              assertThat(events.subList(2, 4))
                  .extracting(e -> e.path("data").path("step").asText())
                  .containsExactlyInAnyOrder("reserve-flight", "reserve-hotel");
              assertThat(events.get(3).path("data").path("nextStep").asText())
                  .isEqualTo("manager-approval");
              // Three nights need no approval: the step succeeds at once, with no output.
              assertThat(events.get(4).path("data").path("step").asText())
                  .isEqualTo("manager-approval");
              assertThat(events.get(4).path("data").path("nextStep").asText())
                  .isEqualTo("charge-card");
              assertThat(texts(events.get(5).path("data").path("compensations")))
                  .containsExactly("reserve-hotel", "reserve-flight");
              // Undone together too, so either may answer first.
              assertThat(events.subList(6, 8))
                  .extracting(e -> e.path("data").path("step").asText())
                  .containsExactlyInAnyOrder("reserve-hotel", "reserve-flight");
            }));
    checks.put(
        "cancel-trip",
        Check.of(
            out -> {
              List<JsonNode> answers = answers(out, 3);
              assertThat(answers.get(0).path("fault").path("status").asInt()).isEqualTo(503);
              assertStarted(answers.get(1), "trip-2003");
              assertThat(answers.get(2).path("status").asText())
                  .isIn("COMPENSATING", "COMPENSATED");
              assertThat(answers.get(2).path("failure").asText())
                  .isEqualTo("cancelled: traveler changed plans");
            }));
    checks.put(
        "get-cancelled-trip",
        after(
            "trip-2003",
            "COMPENSATED",
            out -> {
              JsonNode saga = single(out);
              assertThat(stepStatuses(saga))
                  .containsExactly(
                      entry("reservations", "COMPENSATED"),
                      entry("reserve-flight", "COMPENSATED"),
                      entry("reserve-hotel", "COMPENSATED"),
                      entry("manager-approval", "PENDING"),
                      entry("charge-card", "PENDING"),
                      entry("send-confirmation", "PENDING"));
              assertThat(saga.path("failure").asText())
                  .isEqualTo("cancelled: traveler changed plans");
            }));
    checks.put(
        "fail-trip",
        Check.of(
            out -> {
              List<JsonNode> answers = answers(out, 4);
              assertStarted(answers.get(1), "trip-2004");
              assertThat(answers.get(2).path("fault").path("status").asInt()).isEqualTo(422);
              assertThat(answers.get(3).path("id").asText()).isEqualTo("trip-2004");
              assertThat(answers.get(3).path("status").asText()).isIn("COMPENSATING", "FAILED");
            }));
    checks.put(
        "get-failed-trip",
        after(
            "trip-2004",
            "FAILED",
            out -> {
              JsonNode saga = single(out);
              var statuses = stepStatuses(saga);
              // The flight's cancellation went out beside the hotel's; its answer may be a moment
              // behind the hotel's refusal.
              assertThat(statuses.get(1).getKey()).isEqualTo("reserve-flight");
              assertThat(statuses.get(1).getValue()).isIn("COMPENSATED", "COMPENSATING");
              assertThat(statuses)
                  .containsExactly(
                      entry("reservations", "COMPENSATION_FAILED"),
                      statuses.get(1),
                      entry("reserve-hotel", "COMPENSATION_FAILED"),
                      entry("manager-approval", "PENDING"),
                      entry("charge-card", "PENDING"),
                      entry("send-confirmation", "PENDING"));
              assertThat(saga.path("failure").asText())
                  .contains("compensation of step 'reserve-hotel' was rejected")
                  .contains("422");
            }));
    checks.put(
        "retry-trip",
        Check.of(
            out -> {
              JsonNode saga = single(out);
              assertThat(saga.path("id").asText()).isEqualTo("trip-2004");
              assertThat(saga.path("status").asText()).isIn("COMPENSATING", "COMPENSATED");
            }));
    checks.put(
        "get-retried-trip",
        after(
            "trip-2004",
            "COMPENSATED",
            out ->
                assertThat(stepStatuses(single(out)))
                    .containsExactly(
                        entry("reservations", "COMPENSATED"),
                        entry("reserve-flight", "COMPENSATED"),
                        entry("reserve-hotel", "COMPENSATED"),
                        entry("manager-approval", "PENDING"),
                        entry("charge-card", "PENDING"),
                        entry("send-confirmation", "PENDING"))));
    checks.put("start-long-trip", Check.of(out -> assertStarted(single(out), "trip-2005")));
    checks.put(
        "get-waiting-trip",
        waitingFor(
            "trip-2005",
            out -> {
              JsonNode saga = single(out);
              assertThat(saga.path("status").asText()).isEqualTo("RUNNING");
              assertThat(saga.path("waitingFor").path("signal").asText()).isEqualTo("approval");
              assertThat(saga.path("waitingFor").path("step").asText())
                  .isEqualTo("manager-approval");
              assertThat(
                      Duration.between(
                          Instant.parse(saga.path("waitingFor").path("since").asText()),
                          Instant.parse(saga.path("waitingFor").path("timeoutAt").asText())))
                  .isEqualTo(Duration.ofHours(24));
            }));
    checks.put(
        "list-waiting",
        new Check(
            () ->
                await(
                    "trip-2005 listed as waiting for approval",
                    () -> waitingForApproval().contains("trip-2005")),
            out ->
                assertThat(single(out).path("items"))
                    .extracting(item -> item.path("id").asText())
                    .containsExactly("trip-2005")));
    checks.put(
        "approve-trip",
        Check.of(
            out -> {
              JsonNode saga = single(out);
              assertThat(saga.path("id").asText()).isEqualTo("trip-2005");
              assertThat(saga.path("status").asText()).isIn("RUNNING", "COMPLETED");
              assertThat(saga.has("waitingFor")).isFalse();
            }));
    checks.put(
        "get-approved-trip",
        after(
            "trip-2005",
            "COMPLETED",
            out -> {
              JsonNode saga = single(out);
              JsonNode approval = saga.path("steps").path(1);
              assertThat(approval.path("name").asText()).isEqualTo("manager-approval");
              assertThat(approval.path("output").path("by").asText()).isEqualTo("Grace Hopper");
            }));
    checks.put("start-offsite", Check.of(out -> assertStarted(single(out), "offsite-3001")));
    checks.put(
        "get-offsite",
        after(
            "offsite-3001",
            "COMPLETED",
            out -> {
              JsonNode saga = single(out);
              assertThat(stepStatuses(saga))
                  .containsExactly(
                      entry("reserve-rooms", "SUCCEEDED"),
                      entry("reserve-rooms/ada", "SUCCEEDED"),
                      entry("reserve-rooms/alan", "SUCCEEDED"),
                      entry("reserve-rooms/grace", "SUCCEEDED"),
                      entry("charge-card", "SUCCEEDED"),
                      entry("invite-guests", "SUCCEEDED"),
                      entry("invite-guests/ada", "SUCCEEDED"),
                      entry("invite-guests/alan", "SUCCEEDED"),
                      entry("invite-guests/grace", "SUCCEEDED"));
              JsonNode rooms = saga.path("steps").path(0).path("output");
              assertThat(rooms).hasSize(3);
              assertThat(rooms.path(2).path("tripId").asText()).isEqualTo("offsite-3001-grace");
            }));
    checks.put(
        "hotels-ledger",
        Check.of(
            out -> {
              JsonNode ledger = single(out);
              assertThat(ledger.path("entries"))
                  .filteredOn(e -> e.path("idempotencyKey").asText().startsWith("offsite-3001/"))
                  .extracting(e -> e.path("idempotencyKey").asText())
                  .containsExactlyInAnyOrder(
                      "offsite-3001/reserve-rooms/ada",
                      "offsite-3001/reserve-rooms/alan",
                      "offsite-3001/reserve-rooms/grace");
            }));
    return checks;
  }

  // ---- the node ---------------------------------------------------------------------------------

  private void startNode() throws IOException {
    Files.createDirectories(OUTPUT);
    nodeLog = OUTPUT.resolve("node.log");
    walkthroughLog = OUTPUT.resolve("walkthrough.log");
    Files.deleteIfExists(walkthroughLog);
    int[] ports = freePorts(4);
    apiPort = ports[0];
    demoPort = ports[1];

    var command =
        new ProcessBuilder(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                JAR.toString())
            .directory(workDir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(nodeLog.toFile());
    Map<String, String> env = command.environment();
    // Whatever the build's environment holds (a database URL, participant URLs) must not leak in.
    env.keySet().removeIf(name -> name.startsWith("SAGAFLOW_"));
    env.put("SAGAFLOW_HTTP_PORT", Integer.toString(apiPort));
    env.put("SAGAFLOW_DEMO_PORT", Integer.toString(demoPort));
    env.put("SAGAFLOW_REMOTE_PORT", Integer.toString(ports[2]));
    env.put("SAGAFLOW_MANAGEMENT_PORT", Integer.toString(ports[3]));
    node = command.start();

    await(
        "the node's HTTP API on port " + apiPort + " (started in " + workDir + ")",
        STARTUP,
        () -> get("/v1/saga-types").map(r -> r.statusCode() == 200).orElse(false));
  }

  private void stopNodeAndCheckItStoppedCleanly() throws Exception {
    node.destroy(); // SIGTERM
    assertThat(node.waitFor(SHUTDOWN.toSeconds(), TimeUnit.SECONDS))
        .as("the node exits within %s of SIGTERM; see %s", SHUTDOWN, nodeLog)
        .isTrue();
    assertThat(node.exitValue()).as("exit status after SIGTERM; see %s", nodeLog).isZero();

    String log = Files.readString(nodeLog);
    assertThat(log).as("the node's log (%s) has no stack traces", nodeLog).doesNotContain("\tat ");
    assertThat(log.lines().filter(line -> line.contains(" ERROR ") || line.contains("[ERROR]")))
        .as("the only error the node logs is the saga left FAILED on purpose (%s)", nodeLog)
        .allMatch(line -> line.contains("[trip-2004]"));
    int signalled = log.indexOf("Received SIGTERM");
    assertThat(signalled).as("the node logs the SIGTERM; see %s", nodeLog).isNotNegative();
    String shutdown = log.substring(signalled);
    assertThat(shutdown)
        .as("the node's log after SIGTERM (%s)", nodeLog)
        .containsPattern("Embedded PostgreSQL on .+ stopped")
        .contains("Demo participants on")
        .contains("Main - Stopped")
        .doesNotContain(" ERROR ")
        .doesNotContain(" WARN ")
        .doesNotContain("[ERROR]")
        .doesNotContain("Exception");

    Path postgres = workDir.resolve("data/postgres");
    assertThat(postgres.resolve("PG_VERSION")).as("the PostgreSQL cluster in ./data").exists();
    assertThat(postgres.resolve("postmaster.pid"))
        .as("PostgreSQL removes its pid file when it stops cleanly")
        .doesNotExist();
    Matcher pid = POSTMASTER_PID.matcher(log);
    assertThat(pid.find()).as("the node logs PostgreSQL's pid; see %s", nodeLog).isTrue();
    assertThat(isRunning(Long.parseLong(pid.group(1))))
        .as("PostgreSQL (pid %s) is still running after the node exited", pid.group(1))
        .isFalse();
  }

  /** After a failure: stop the node (and a PostgreSQL it left behind) so that nothing lingers. */
  @AfterEach
  void stopWhatIsLeft() throws Exception {
    if (node != null && node.isAlive()) {
      node.destroy();
      if (!node.waitFor(SHUTDOWN.toSeconds(), TimeUnit.SECONDS)) {
        node.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    }
    Path pidFile = workDir.resolve("data/postgres/postmaster.pid");
    try {
      long pid = Long.parseLong(Files.readAllLines(pidFile).get(0).trim());
      // SIGTERM: PostgreSQL's smart shutdown, enough once its clients are gone.
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroy);
    } catch (NoSuchFileException | NumberFormatException | IndexOutOfBoundsException e) {
      // Stopped, or never started.
    }
  }

  // ---- the README -------------------------------------------------------------------------------

  private static String quickStartSection(String readme) {
    int start = readme.indexOf("\n## Quick start");
    assertThat(start).as("README.md has a '## Quick start' section").isNotNegative();
    int end = readme.indexOf("\n## ", start + 1);
    return end < 0 ? readme.substring(start) : readme.substring(start, end);
  }

  /** The {@code ```sh} blocks right after a {@code <!-- quickstart: name -->} marker, by name. */
  private static Map<String, String> markedBlocks(String readme) {
    var blocks = new LinkedHashMap<String, String>();
    List<String> lines = readme.lines().toList();
    for (int i = 0; i < lines.size(); i++) {
      Matcher marker = MARKER.matcher(lines.get(i).strip());
      if (!marker.matches()) {
        continue;
      }
      String name = marker.group(1);
      int open = i + 1;
      while (open < lines.size() && lines.get(open).isBlank()) {
        open++;
      }
      assertThat(open < lines.size() ? lines.get(open).strip() : "(end of file)")
          .as("the line after <!-- quickstart: %s --> opens a sh block", name)
          .isEqualTo("```sh");
      var script = new StringBuilder();
      int line = open + 1;
      while (line < lines.size() && !lines.get(line).strip().equals("```")) {
        script.append(lines.get(line)).append('\n');
        line++;
      }
      assertThat(line).as("the sh block of '%s' is closed", name).isLessThan(lines.size());
      assertThat(blocks.put(name, script.toString()))
          .as("quickstart block names are unique: %s", name)
          .isNull();
      i = line;
    }
    return blocks;
  }

  /** Runs one README block with bash, its ports pointed at this node, and returns its output. */
  private String run(String name, String script) throws Exception {
    Matcher port = LOCAL_PORT.matcher(script);
    while (port.find()) {
      assertThat(Integer.parseInt(port.group(1)))
          .as(
              "block '%s' talks to the node on localhost:%d or localhost:%d",
              name, README_API_PORT, README_DEMO_PORT)
          .isIn(README_API_PORT, README_DEMO_PORT);
    }
    String local =
        script
            .replace("localhost:" + README_API_PORT, "localhost:" + apiPort)
            .replace("localhost:" + README_DEMO_PORT, "localhost:" + demoPort);
    Path outputFile = OUTPUT.resolve("block.out");
    Process bash =
        new ProcessBuilder("bash", "-c", "set -eo pipefail\n" + local)
            .directory(workDir.toFile())
            .redirectErrorStream(true)
            .redirectOutput(outputFile.toFile())
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .start();
    boolean exited = bash.waitFor(BLOCK_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    if (!exited) {
      bash.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
    }
    String output = Files.readString(outputFile);
    Files.writeString(
        walkthroughLog,
        "### "
            + name
            + "\n"
            + local
            + "--- output"
            + (exited ? " (exit " + bash.exitValue() + ")" : "")
            + "\n"
            + output
            + "\n",
        StandardOpenOption.CREATE,
        StandardOpenOption.APPEND);
    if (!exited) {
      fail("README block '%s' did not finish within %s:\n%s", name, BLOCK_TIMEOUT, output);
    }
    assertThat(bash.exitValue()).as("exit status of README block '%s':\n%s", name, output).isZero();
    return output;
  }

  // ---- waiting ----------------------------------------------------------------------------------

  /** Polls until {@code condition} holds; fails early, with the node's log, if the node exits. */
  private void await(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() - deadline > 0) {
        fail("timed out after %s waiting for %s; node log: %s", timeout, what, nodeLog);
      }
      try {
        // Waiting on the node itself: returns at once if it dies.
        if (node.waitFor(POLL.toMillis(), TimeUnit.MILLISECONDS)) {
          fail(
              "the node exited (status %d) while waiting for %s; its log:%n%s",
              node.exitValue(), what, tail(nodeLog));
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what, e);
      }
    }
  }

  private void await(String what, BooleanSupplier condition) {
    await(what, SETTLE, condition);
  }

  private void awaitStatus(String sagaId, String status) {
    await(
        "saga " + sagaId + " to be " + status,
        () -> saga(sagaId).map(s -> s.path("status").asText().equals(status)).orElse(false));
  }

  private Optional<JsonNode> saga(String id) {
    return get("/v1/sagas/" + id).filter(r -> r.statusCode() == 200).map(r -> parse(r.body()));
  }

  /** The sagas of one type in the index, id to status. */
  private Map<String, String> listed(String type) {
    return get("/v1/sagas?type=" + type + "&limit=100")
        .filter(r -> r.statusCode() == 200)
        .map(
            r -> {
              var ids = new LinkedHashMap<String, String>();
              for (JsonNode item : parse(r.body()).path("items")) {
                ids.put(item.path("id").asText(), item.path("status").asText());
              }
              return (Map<String, String>) ids;
            })
        .orElse(Map.of());
  }

  /** The ids of the sagas listed as waiting for the signal {@code approval}. */
  private List<String> waitingForApproval() {
    return get("/v1/sagas?waitingFor=approval")
        .filter(r -> r.statusCode() == 200)
        .map(
            r -> {
              var ids = new ArrayList<String>();
              parse(r.body()).path("items").forEach(item -> ids.add(item.path("id").asText()));
              return (List<String>) ids;
            })
        .orElse(List.of());
  }

  /** GET on the node's API; empty while it cannot be reached. */
  private Optional<HttpResponse<String>> get(String path) {
    var request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + apiPort + path))
            .timeout(Duration.ofSeconds(5))
            .GET()
            .build();
    try {
      return Optional.of(HTTP.send(request, HttpResponse.BodyHandlers.ofString()));
    } catch (IOException e) {
      // Not listening yet, or not answering in time.
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }

  // ---- answers ----------------------------------------------------------------------------------

  /** A check of one README block: what to wait for before running it, and what it must answer. */
  private record Check(Runnable before, ThrowingConsumer verify) {
    static Check of(ThrowingConsumer verify) {
      return new Check(() -> {}, verify);
    }
  }

  private Check after(String sagaId, String status, ThrowingConsumer verify) {
    return new Check(() -> awaitStatus(sagaId, status), verify);
  }

  /**
   * Runs the block once {@code sagaId} waits for a signal (its reservations done), then verifies.
   */
  private Check waitingFor(String sagaId, ThrowingConsumer verify) {
    return new Check(
        () ->
            await(
                "saga " + sagaId + " to wait for a signal",
                () -> saga(sagaId).map(s -> s.has("waitingFor")).orElse(false)),
        verify);
  }

  @FunctionalInterface
  private interface ThrowingConsumer {
    void accept(String output) throws Exception;
  }

  /** An answer printed by {@code curl -i}: status line, headers, blank line, body. */
  private record RawAnswer(int status, Map<String, String> headers, JsonNode json) {
    static RawAnswer parse(String output) {
      String text = output.replace("\r\n", "\n");
      int split = text.indexOf("\n\n");
      assertThat(split).as("curl -i output has headers and a body").isPositive();
      List<String> head = text.substring(0, split).lines().toList();
      String[] statusLine = head.get(0).split(" ", 3);
      assertThat(statusLine[0]).startsWith("HTTP/");
      var headers = new LinkedHashMap<String, String>();
      for (String header : head.subList(1, head.size())) {
        int colon = header.indexOf(':');
        headers.put(
            header.substring(0, colon).strip().toLowerCase(Locale.ROOT),
            header.substring(colon + 1).strip());
      }
      return new RawAnswer(
          Integer.parseInt(statusLine[1]), headers, QuickStartIT.parse(text.substring(split + 2)));
    }

    Optional<String> header(String name) {
      return Optional.ofNullable(headers.get(name.toLowerCase(Locale.ROOT)));
    }
  }

  private static JsonNode single(String output) {
    return answers(output, 1).get(0);
  }

  /** The JSON answers a block printed, one a line (each command ends with {@code ; echo}). */
  private static List<JsonNode> answers(String output, int expected) {
    List<JsonNode> answers =
        output.lines().filter(l -> !l.isBlank()).map(QuickStartIT::parse).toList();
    assertThat(answers).as("JSON answers, one a line").hasSize(expected);
    return answers;
  }

  private static JsonNode parse(String json) {
    try {
      return JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new AssertionError("not JSON: " + json, e);
    }
  }

  private static void assertStarted(JsonNode saga, String id) {
    assertThat(saga.path("id").asText()).isEqualTo(id);
    assertThat(saga.path("status").asText())
        .isIn("RUNNING", "COMPLETED", "COMPENSATING", "COMPENSATED");
  }

  private static List<JsonNode> events(JsonNode history, String sagaId) {
    assertThat(history.path("id").asText()).isEqualTo(sagaId);
    return elements(history.path("events"));
  }

  private static List<JsonNode> elements(JsonNode array) {
    assertThat(array.isArray()).as("a JSON array: %s", array).isTrue();
    return StreamSupport.stream(array.spliterator(), false).toList();
  }

  private static List<String> texts(JsonNode array) {
    return elements(array).stream().map(JsonNode::asText).toList();
  }

  private static JsonNode step(JsonNode saga, String name) {
    for (JsonNode step : saga.path("steps")) {
      if (step.path("name").asText().equals(name)) {
        return step;
      }
    }
    throw new AssertionError("no step " + name + " in " + saga);
  }

  /** Every step's status in order, a group's or fan-out's branches right after it. */
  private static List<Map.Entry<String, String>> stepStatuses(JsonNode saga) {
    var statuses = new ArrayList<Map.Entry<String, String>>();
    for (JsonNode step : saga.path("steps")) {
      statuses.add(entry(step.path("name").asText(), step.path("status").asText()));
      for (JsonNode branch : step.path("branches")) {
        statuses.add(entry(branch.path("name").asText(), branch.path("status").asText()));
      }
    }
    return statuses;
  }

  private static Map.Entry<String, String> entry(String key, String value) {
    return Map.entry(key, value);
  }

  // ---- processes and ports ----------------------------------------------------------------------

  /** The walkthrough is run with bash and curl, as a user would. */
  private static void requireOnPath(String... command) throws InterruptedException {
    try {
      Process process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      if (process.waitFor(10, TimeUnit.SECONDS) && process.exitValue() == 0) {
        return;
      }
      process.destroyForcibly();
    } catch (IOException e) {
      // Not found; reported below.
    }
    fail("QuickStartIT runs the README's commands, which need %s on the PATH", command[0]);
  }

  /** Distinct ports that were free a moment ago. */
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

  /** Alive and not a zombie (an orphaned postmaster may never be reaped in a container). */
  private static boolean isRunning(long pid) {
    Optional<ProcessHandle> process = ProcessHandle.of(pid);
    if (process.isEmpty() || !process.get().isAlive()) {
      return false;
    }
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      int afterName = stat.lastIndexOf(')');
      return !(afterName > 0 && afterName + 2 < stat.length() && stat.charAt(afterName + 2) == 'Z');
    } catch (NoSuchFileException e) {
      return false;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String tail(Path file) {
    try {
      List<String> lines = Files.readAllLines(file);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    } catch (IOException e) {
      return "(cannot read " + file + ": " + e + ")";
    }
  }
}
