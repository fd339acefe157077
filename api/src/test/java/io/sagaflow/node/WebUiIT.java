package io.sagaflow.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.dsl.AwaitSignal;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepContext;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.testing.TestDatabase;
import java.io.File;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The web UI in a real headless Chromium (Debian's {@code chromium} and {@code chromium-driver},
 * which {@code .ci/run} installs), against a node on real PostgreSQL with API tokens on, calling a
 * real HTTP stub participant. The browser gives the token through the UI's own dialog. Each test
 * leaves a screenshot of its last page in {@code target/ui-screenshots/}.
 */
class WebUiIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String TOKEN = "ui-test-token-" + UUID.randomUUID();
  private static final Path SCREENSHOTS = Path.of("target", "ui-screenshots");

  /** Three steps, each undone by its own call; paths from the input's scenario. */
  static final SagaDefinition<?> BOOKING =
      SagaDefinition.builder("booking")
          .defaultRetry(
              r ->
                  r.maxAttempts(2)
                      .minBackoff(Duration.ofMillis(50))
                      .maxBackoff(Duration.ofMillis(100)))
          .compensationRetry(
              r ->
                  r.maxAttempts(2)
                      .minBackoff(Duration.ofMillis(50))
                      .maxBackoff(Duration.ofMillis(100)))
          .defaultTimeout(Duration.ofSeconds(20))
          .step(
              Step.named("reserve-seat")
                  .invoke(call("inventory", "reserve"))
                  .compensateWith(call("inventory", "release")))
          .step(
              Step.named("charge-card")
                  .invoke(call("payments", "charge"))
                  .compensateWith(call("payments", "refund")))
          .step(
              Step.named("issue-ticket")
                  .invoke(call("shipping", "issue"))
                  .compensateWith(call("shipping", "void")))
          .build();

  /** Reserve, then wait for the signal "approval" (a yes or no), then charge. */
  static final SagaDefinition<?> APPROVAL =
      SagaDefinition.builder("approval")
          .defaultTimeout(Duration.ofSeconds(20))
          .step(
              Step.named("reserve-seat")
                  .invoke(call("inventory", "reserve"))
                  .compensateWith(call("inventory", "release")))
          .step(
              Step.named("manager-approval")
                  .awaitSignal(
                      AwaitSignal.named("approval")
                          .rejectIf(
                              JsonNode.class,
                              payload -> !payload.path("approved").asBoolean(),
                              payload -> "not approved"))
                  .timeout(Duration.ofMinutes(10)))
          .step(Step.named("charge-card").invoke(call("payments", "charge")).noCompensation())
          .build();

  static HttpCall<Object> call(String participant, String action) {
    return HttpCall.post(
        participant,
        ctx -> "/" + ctx.inputJson().get("scenario").asText() + "/" + action,
        StepContext::inputJson);
  }

  private static TestDatabase db;
  private static StubParticipant stub;
  private static SagaflowNode node;
  private static String base;
  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private WebDriver browser;
  private String testName;

  @BeforeAll
  static void startNode() {
    db = TestDatabase.fresh();
    stub = StubParticipant.start();
    node =
        SagaflowNode.start(
            ConfigFactory.parseMap(Map.of("sagaflow.http.tokens", TOKEN))
                .withFallback(TestNodes.config(stub.baseUrl())),
            TestNodes.env(db),
            List.of(BOOKING, APPROVAL));
    base = "http://127.0.0.1:" + node.httpPort();
  }

  @AfterAll
  static void stopNode() {
    node.close();
    stub.close();
  }

  @BeforeEach
  void openBrowser(TestInfo info) {
    testName = info.getTestMethod().orElseThrow().getName();
    var options = new ChromeOptions();
    options.setBinary(System.getProperty("sagaflow.test.chromium", "/usr/bin/chromium"));
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000");
    var driver =
        new File(System.getProperty("sagaflow.test.chromedriver", "/usr/bin/chromedriver"));
    assertThat(driver.canExecute())
        .as(driver + " (apt-get install chromium chromium-driver; .ci/run does it)")
        .isTrue();
    var service =
        new ChromeDriverService.Builder().usingDriverExecutable(driver).usingAnyFreePort().build();
    browser = new ChromeDriver(service, options);
  }

  @AfterEach
  void closeBrowser() throws IOException {
    if (browser != null) {
      Files.createDirectories(SCREENSHOTS);
      File shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
      Files.copy(
          shot.toPath(),
          SCREENSHOTS.resolve(testName + ".png"),
          StandardCopyOption.REPLACE_EXISTING);
      browser.quit();
    }
  }

  // ---- the tests ------------------------------------------------------------------------------

  @Test
  void theListShowsSagasStartedThroughTheApiOnceTheTokenIsGiven() throws Exception {
    String scenario = "list-" + UUID.randomUUID();
    List<String> ids = List.of(start(scenario), start(scenario), start(scenario));
    for (String id : ids) {
      awaitIndexed(id, SagaStatus.COMPLETED);
    }

    open("/");
    giveToken();

    for (String id : ids) {
      WebElement row = await(By.cssSelector("table.sagas tr[data-saga-id='" + id + "']"));
      assertThat(row.getAttribute("data-status")).isEqualTo("COMPLETED");
      assertThat(row.getText()).contains("booking v1");
    }
    // A filter narrows the list: no booking is FAILED.
    new org.openqa.selenium.support.ui.Select(browser.findElement(By.id("filter-status")))
        .selectByValue("FAILED");
    await(By.cssSelector("#list-body p.empty"));
    assertThat(browser.findElements(By.cssSelector("table.sagas tr[data-saga-id]"))).isEmpty();
  }

  @Test
  void aCompensatedSagasPageShowsTheUndoneStepsNewestFirst() throws Exception {
    String scenario = "undo-" + UUID.randomUUID();
    stub.on("/" + scenario + "/issue").alwaysStatus(422);
    String id = start(scenario);
    awaitIndexed(id, SagaStatus.COMPENSATED);

    open("/#/sagas/" + id);
    giveToken();

    awaitText(By.id("saga-status"), "COMPENSATED");
    assertThat(browser.findElement(By.id("saga-failure")).getText())
        .contains("issue-ticket")
        .contains("422");
    List<String> undone =
        browser.findElements(By.cssSelector("#timeline li[data-type='StepCompensated']")).stream()
            .map(li -> li.getAttribute("data-step"))
            .toList();
    assertThat(undone).containsExactly("charge-card", "reserve-seat");
    assertThat(stepStatus("issue-ticket")).isEqualTo("REJECTED");
    assertThat(stepStatus("charge-card")).isEqualTo("COMPENSATED");
    assertThat(stepStatus("reserve-seat")).isEqualTo("COMPENSATED");
    // Neither cancel nor retry is offered for a saga that has ended.
    assertThat(browser.findElements(By.cssSelector(".actions button"))).isEmpty();
  }

  @Test
  void cancelFromTheUiCompensatesARunningSaga() throws Exception {
    String scenario = "cancel-" + UUID.randomUUID();
    var release = new CountDownLatch(1);
    stub.on("/" + scenario + "/charge").handle(hold(release));
    String id = start(scenario);
    stub.awaitCalls("/" + scenario + "/charge", 1, WAIT);

    open("/#/sagas/" + id);
    giveToken();
    awaitText(By.id("saga-status"), "RUNNING");
    click(By.id("action-cancel"));
    WebElement reason = await(By.id("confirm-reason"));
    reason.sendKeys("customer changed plans");
    browser.findElement(By.id("confirm-ok")).click();
    // The cancel is written at once; the saga waits for the charge in flight, whose answer says
    // whether it is undone too (it succeeds here, so it is).
    awaitText(By.id("saga-status"), "COMPENSATING");
    release.countDown();

    awaitText(By.id("saga-status"), "COMPENSATED");
    assertThat(stub.calls("/" + scenario + "/issue")).isEmpty();
    assertThat(stub.calls("/" + scenario + "/refund")).hasSize(1);
    assertThat(stub.calls("/" + scenario + "/release")).hasSize(1);
    assertThat(browser.findElement(By.id("saga-failure")).getText())
        .contains("customer changed plans");
    assertThat(browser.findElements(By.id("action-cancel"))).isEmpty();
  }

  @Test
  void aStatusChangeAppearsWithoutReloading() throws Exception {
    String scenario = "live-" + UUID.randomUUID();
    var release = new CountDownLatch(1);
    stub.on("/" + scenario + "/issue").handle(hold(release));
    String id = start(scenario);
    stub.awaitCalls("/" + scenario + "/issue", 1, WAIT);

    open("/#/sagas/" + id);
    giveToken();
    awaitText(By.id("saga-status"), "RUNNING");
    assertThat(browser.findElement(By.id("waits-for")).getText())
        .isEqualTo("the answer of issue-ticket");
    awaitLive();
    // A mark on the page's window: a reload would drop it.
    js("window.sagaflowTestMark = 'still the same page'");

    release.countDown();

    awaitText(By.id("saga-status"), "COMPLETED");
    assertThat(js("return window.sagaflowTestMark")).isEqualTo("still the same page");
    assertThat(stepStatus("issue-ticket")).isEqualTo("SUCCEEDED");
  }

  @Test
  void aFailedSagaNeedsAttentionAndRetryFromTheUiFinishesIt() throws Exception {
    String scenario = "stuck-" + UUID.randomUUID();
    stub.on("/" + scenario + "/issue").alwaysStatus(422);
    stub.on("/" + scenario + "/refund").alwaysStatus(503);
    String id = start(scenario);
    awaitIndexed(id, SagaStatus.FAILED);

    open("/#/attention");
    giveToken();
    WebElement row = await(By.cssSelector("#attention-failed tr[data-saga-id='" + id + "']"));
    assertThat(row.getText()).contains("charge-card");
    row.findElement(By.cssSelector("a.saga-link")).click();

    awaitText(By.id("saga-status"), "FAILED");
    assertThat(browser.findElement(By.id("waits-for")).getText()).startsWith("an operator");
    assertThat(browser.findElements(By.id("action-cancel"))).isEmpty();
    stub.on("/" + scenario + "/refund").respond(200, "{\"refunded\":true}");
    click(By.id("action-retry"));
    click(By.id("confirm-ok"));

    awaitText(By.id("saga-status"), "COMPENSATED");
    assertThat(browser.findElements(By.id("action-retry"))).isEmpty();
    assertThat(stub.calls("/" + scenario + "/release")).hasSize(1);
  }

  @Test
  void aSignalSentFromTheUiFinishesAWaitingSaga() throws Exception {
    String scenario = "signal-" + UUID.randomUUID();
    String id = start("approval", scenario);
    awaitListed("waitingFor=*", id);

    // "Needs attention" lists it as waiting for a signal.
    open("/#/attention");
    giveToken();
    WebElement row = await(By.cssSelector("#attention-signals tr[data-saga-id='" + id + "']"));
    row.findElement(By.cssSelector("a.saga-link")).click();
    new WebDriverWait(browser, WAIT).until(d -> d.findElements(By.id("action-signal")).size() == 1);
    assertThat(browser.findElement(By.id("waits-for")).getText())
        .startsWith("the signal 'approval' (step manager-approval)");
    // The page may redraw between finding the button and clicking it (a live update): click the
    // button as it is then.
    new WebDriverWait(browser, WAIT)
        .ignoring(org.openqa.selenium.StaleElementReferenceException.class)
        .until(
            d -> {
              d.findElement(By.id("action-signal")).click();
              return true;
            });
    WebElement payload = await(By.id("confirm-payload"));
    payload.clear();
    payload.sendKeys("{\"approved\": true, \"by\": \"ana\"}");
    browser.findElement(By.id("confirm-ok")).click();

    awaitText(By.id("saga-status"), "COMPLETED");
    assertThat(stub.calls("/" + scenario + "/charge")).hasSize(1);
    assertThat(
            browser.findElements(By.cssSelector("#timeline li[data-type='SignalReceived']")).size())
        .isEqualTo(1);
    assertThat(browser.findElements(By.id("action-signal"))).isEmpty();
  }

  @Test
  void thePageIsStaticFilesThatNeedNoTokenAndAllowOnlyThisOrigin() throws Exception {
    for (String path : List.of("/", "/ui/app.js", "/ui/app.css")) {
      HttpResponse<String> page =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(base + path)).build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(page.statusCode()).as(path).isEqualTo(200);
      assertThat(page.headers().firstValue("Content-Security-Policy"))
          .as(path)
          .hasValueSatisfying(
              csp -> assertThat(csp).contains("script-src 'self'", "frame-ancestors 'none'"));
      assertThat(page.headers().firstValue("X-Content-Type-Options")).hasValue("nosniff");
    }
    HttpResponse<String> data =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(base + "/v1/sagas")).build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(data.statusCode()).isEqualTo(401);
    for (String outside : List.of("/ui/%2e%2e/sagaflow-node.conf", "/ui/nope.js", "/ui/")) {
      HttpResponse<String> refused =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(base + outside)).build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(refused.statusCode()).as(outside).isEqualTo(404);
    }
  }

  // ---- helpers --------------------------------------------------------------------------------

  /** Answers once {@code release} opens: a participant still working while the test acts. */
  private static java.util.function.Function<StubParticipant.Call, StubParticipant.Response> hold(
      CountDownLatch release) {
    return call -> {
      try {
        if (!release.await(WAIT.toSeconds(), TimeUnit.SECONDS)) {
          return StubParticipant.Response.json(503, "{\"error\":\"never released\"}");
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return StubParticipant.Response.json(200, "{\"ok\":true}");
    };
  }

  private void open(String path) {
    browser.get(base + path);
  }

  /** The UI asks for the token on its first 401; type it into its dialog. */
  private void giveToken() {
    WebElement input = await(By.id("token-input"));
    input.sendKeys(TOKEN);
    browser.findElement(By.id("token-save")).click();
  }

  private WebElement await(By by) {
    return new WebDriverWait(browser, WAIT)
        .until(ExpectedConditions.visibilityOfElementLocated(by));
  }

  /**
   * Clicks the element once it is visible. The live page re-renders its action bar on every update,
   * so an element found a moment ago may be replaced before the click lands: find it again.
   */
  private void click(By by) {
    new WebDriverWait(browser, WAIT)
        .ignoring(org.openqa.selenium.StaleElementReferenceException.class)
        .until(
            d -> {
              WebElement element = ExpectedConditions.visibilityOfElementLocated(by).apply(d);
              if (element == null) {
                return false;
              }
              element.click();
              return true;
            });
  }

  private void awaitText(By by, String text) {
    new WebDriverWait(browser, WAIT).until(ExpectedConditions.textToBe(by, text));
  }

  private void awaitLive() {
    new WebDriverWait(browser, WAIT)
        .until(d -> "on".equals(js("return document.body.dataset.live")));
  }

  private String stepStatus(String step) {
    return browser
        .findElement(By.cssSelector("#steps tr[data-step='" + step + "']"))
        .getAttribute("data-status");
  }

  private Object js(String script) {
    return ((JavascriptExecutor) browser).executeScript(script);
  }

  /** Starts a booking through the API; its id. */
  private static String start(String scenario) throws Exception {
    return start("booking", scenario);
  }

  /** Starts a saga of {@code type} through the API; its id. */
  private static String start(String type, String scenario) throws Exception {
    String body =
        JSON.writeValueAsString(
            Map.of("type", type, "input", Map.of("scenario", scenario, "seat", "12A")));
    HttpResponse<String> response =
        HTTP.send(
            HttpRequest.newBuilder(URI.create(base + "/v1/sagas"))
                .header("Authorization", "Bearer " + TOKEN)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).as(response.body()).isEqualTo(201);
    return JSON.readTree(response.body()).get("id").asText();
  }

  /** Waits until the saga index lists {@code id} in {@code status}, as the UI's list reads it. */
  private static void awaitIndexed(String id, SagaStatus status) {
    awaitListed("status=" + status, id);
  }

  private static void awaitListed(String query, String id) {
    Eventually.await(
        id + " listed by " + query,
        WAIT,
        () -> {
          JsonNode page = listed(query);
          for (JsonNode item : page.get("items")) {
            if (item.get("id").asText().equals(id)) {
              return item;
            }
          }
          return null;
        });
  }

  private static JsonNode listed(String query) {
    try {
      return JSON.readTree(
          HTTP.send(
                  HttpRequest.newBuilder(URI.create(base + "/v1/sagas?" + query + "&limit=500"))
                      .header("Authorization", "Bearer " + TOKEN)
                      .build(),
                  HttpResponse.BodyHandlers.ofString())
              .body());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
