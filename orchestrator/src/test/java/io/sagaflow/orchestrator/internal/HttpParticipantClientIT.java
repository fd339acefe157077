package io.sagaflow.orchestrator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.TextNode;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.fence.NodeFence;
import io.sagaflow.orchestrator.internal.Outcome.Permanent;
import io.sagaflow.orchestrator.internal.Outcome.Retryable;
import io.sagaflow.orchestrator.internal.Outcome.Succeeded;
import io.sagaflow.orchestrator.internal.Outcome.Unreadable;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.orchestrator.testing.StubParticipant.Call;
import io.sagaflow.orchestrator.testing.StubParticipant.Response;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.pekko.actor.testkit.typed.javadsl.ActorTestKit;
import org.apache.pekko.http.javadsl.ClientTransport;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.OutgoingConnection;
import org.apache.pekko.http.javadsl.settings.ClientConnectionSettings;
import org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.util.ByteString;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class HttpParticipantClientIT {

  private static final ActorTestKit testKit = ActorTestKit.create("HttpParticipantClientIT");
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CHARGE = "/payments/charge";
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  private StubParticipant stub;
  private HttpParticipantClient client;

  @BeforeEach
  void startStub() {
    stub = StubParticipant.start();
    client = clientFor(stub.baseUrl(), 1024 * 1024);
  }

  @AfterEach
  void stopStub() {
    stub.close();
  }

  @AfterAll
  static void stopActorSystem() throws Exception {
    shutDown(testKit);
  }

  // Pools closed first, so that the system's shutdown does not log them as failed.
  private static void shutDown(ActorTestKit kit) throws Exception {
    Http.get(kit.system())
        .shutdownAllConnectionPools()
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    kit.shutdownTestKit();
  }

  @Test
  void jsonBodyOf2xxIsTheOutput() throws Exception {
    stub.on(CHARGE).respond(201, "{\"chargeId\":\"c-1\",\"amount\":42}");

    Outcome outcome = call(client, request(CHARGE, "saga-1/charge"));

    assertThat(outcome).isInstanceOf(Succeeded.class);
    JsonNode output = ((Succeeded) outcome).output();
    assertThat(output.get("chargeId").asText()).isEqualTo("c-1");
    assertThat(output.get("amount").asInt()).isEqualTo(42);
  }

  @Test
  void emptyBodyOf2xxIsJsonNull() throws Exception {
    stub.on("/no-content").respond(Response.empty(204));
    stub.on("/empty-ok").respond(Response.empty(200));

    assertThat(call(client, request("/no-content", "k1")))
        .isEqualTo(new Succeeded(NullNode.getInstance()));
    assertThat(call(client, request("/empty-ok", "k2")))
        .isEqualTo(new Succeeded(NullNode.getInstance()));
  }

  @Test
  void nonJsonBodyOf2xxIsText() throws Exception {
    stub.on(CHARGE).respond(Response.text(200, "charged, thanks"));

    assertThat(call(client, request(CHARGE, "k")))
        .isEqualTo(new Succeeded(TextNode.valueOf("charged, thanks")));
  }

  @Test
  void serviceUnavailableIsRetryableWithStatusAndExcerpt() throws Exception {
    stub.on(CHARGE).alwaysStatus(503);

    Outcome outcome = call(client, request(CHARGE, "k"));

    assertThat(outcome).isInstanceOf(Retryable.class);
    Retryable retryable = (Retryable) outcome;
    assertThat(retryable.error())
        .contains("payments POST /payments/charge answered 503 Service Unavailable")
        .contains("stubbed 503");
    assertThat(retryable.retryAfter()).isEmpty();
  }

  @Test
  void retryAfterSecondsBecomesTheDelay() throws Exception {
    stub.on(CHARGE).alwaysStatus(503).retryAfter("3");

    Outcome outcome = call(client, request(CHARGE, "k"));

    assertThat(outcome).isInstanceOf(Retryable.class);
    assertThat(((Retryable) outcome).retryAfter()).contains(Duration.ofSeconds(3));
  }

  @ParameterizedTest
  @ValueSource(ints = {408, 425, 429, 500, 502, 504})
  void throttlingTimeoutAndServerErrorsAreRetryable(int status) throws Exception {
    stub.on(CHARGE).alwaysStatus(status);

    Outcome outcome = call(client, request(CHARGE, "k"));

    assertThat(outcome).isInstanceOf(Retryable.class);
    assertThat(((Retryable) outcome).error()).contains("answered " + status);
  }

  @ParameterizedTest
  @ValueSource(ints = {400, 404, 409, 422, 302})
  void otherClientErrorsAndRedirectsArePermanent(int status) throws Exception {
    stub.on(CHARGE).alwaysStatus(status);

    Outcome outcome = call(client, request(CHARGE, "k"));

    assertThat(outcome).isInstanceOf(Permanent.class);
    assertThat(((Permanent) outcome).error())
        .contains("payments POST /payments/charge answered " + status)
        .contains("stubbed " + status);
  }

  @Test
  void errorTextIsAShortExcerptAndNeverEchoesRequestHeaders() throws Exception {
    stub.on(CHARGE).respond(Response.json(500, "{\"trace\":\"" + "x".repeat(5000) + "\"}"));
    ParticipantRequest request =
        new ParticipantRequest(
            "payments",
            "POST",
            CHARGE,
            null,
            Map.of("Authorization", "Bearer s3cret", "Idempotency-Key", "saga-9/charge"),
            TIMEOUT);

    String error = ((Retryable) call(client, request)).error();

    assertThat(error).hasSizeLessThan(300).doesNotContain("s3cret").doesNotContain("saga-9");
    assertThat(error).endsWith("…");
  }

  @Test
  void refusedConnectionIsRetryable() throws Exception {
    int closedPort;
    try (ServerSocket socket = new ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    HttpParticipantClient toNowhere = clientFor("http://127.0.0.1:" + closedPort, 1024);

    Outcome outcome = call(toNowhere, request(CHARGE, "k"));

    assertThat(outcome).isInstanceOf(Retryable.class);
    assertThat(((Retryable) outcome).error())
        .startsWith("connection refused: payments http://127.0.0.1:" + closedPort);
  }

  @Test
  void slowParticipantPastTheTimeoutIsRetryableAndTheLateWorkStillLands() throws Exception {
    stub.on(CHARGE).delay(Duration.ofMillis(1500));
    ParticipantRequest request =
        new ParticipantRequest(
            "payments",
            "POST",
            CHARGE,
            null,
            Map.of("Idempotency-Key", "saga-1/charge"),
            Duration.ofMillis(300));

    long started = System.nanoTime();
    Outcome outcome = call(client, request);
    Duration took = Duration.ofNanos(System.nanoTime() - started);

    assertThat(outcome)
        .isEqualTo(Retryable.of("timed out after 300ms calling payments POST /payments/charge"));
    assertThat(took).isLessThan(Duration.ofMillis(1500));
    // The participant finishes anyway: that is why a timed-out step is uncertain, not rejected.
    stub.awaitApplied("saga-1/charge", Duration.ofSeconds(5));
    assertThat(call(client, request(CHARGE, "saga-1/charge"))).isInstanceOf(Succeeded.class);
    assertThat(stub.timesApplied("saga-1/charge")).isEqualTo(1);
  }

  @Test
  void nonJsonBodyOf2xxDeclaredAsJsonIsUnreadable() throws Exception {
    stub.on(CHARGE).respond(Response.json(200, "{\"chargeId\":\"c-1\""));
    stub.on("/trailing").respond(Response.json(201, "{\"chargeId\":\"c-1\"} and more"));
    stub.on("/problem")
        .respond(Response.json(200, "oops").withHeader("Content-Type", "application/problem+json"));

    Outcome truncated = call(client, request(CHARGE, "k1"));

    assertThat(truncated).isInstanceOf(Unreadable.class);
    assertThat(((Unreadable) truncated).error())
        .startsWith(
            "payments POST /payments/charge answered 200 but its body could not be read:"
                + " not valid JSON (Unexpected end-of-input");
    assertThat(((Unreadable) call(client, request("/trailing", "k2"))).problem())
        .startsWith("answered 201 but its body could not be read: not valid JSON (");
    assertThat(call(client, request("/problem", "k3"))).isInstanceOf(Unreadable.class);
    // Applied: asking again with the same key gets the same answer, not the output.
    assertThat(call(client, request(CHARGE, "k1"))).isEqualTo(truncated);
    assertThat(stub.timesApplied("k1")).isEqualTo(1);
  }

  @Test
  void bodyOverTheCapOf2xxIsUnreadableAndThePoolRecovers() throws Exception {
    HttpParticipantClient capped = clientFor(stub.baseUrl(), 1024);
    String big = "{\"blob\":\"" + "x".repeat(4000) + "\"}";
    stub.on("/big").respond(Response.json(200, big));
    stub.on("/big-chunked").respond(Response.json(200, big).withChunkedBody());
    stub.on("/small").respond(200, "{\"ok\":true}");

    assertThat(call(capped, request("/big", "k1")))
        .isEqualTo(
            new Unreadable(
                "payments POST /big",
                "answered 200 but its body could not be read: over 1024 bytes"));
    assertThat(call(capped, request("/big-chunked", "k2")))
        .isEqualTo(
            new Unreadable(
                "payments POST /big-chunked",
                "answered 200 but its body could not be read: over 1024 bytes"));
    assertThat(stub.timesApplied("k1")).isEqualTo(1);
    for (int i = 0; i < 20; i++) {
      assertThat(call(capped, request("/small", "small-" + i))).isInstanceOf(Succeeded.class);
    }
  }

  @Test
  void defaultCapIsOneMebibyteFromConfig() throws Exception {
    HttpParticipantClient configured =
        HttpParticipantClient.create(testKit.system(), directoryFor(stub.baseUrl()));
    stub.on("/huge").respond(Response.text(200, "x".repeat(1024 * 1024 + 1)));
    stub.on("/fits").respond(Response.text(200, "x".repeat(1024 * 1024)));

    assertThat(call(configured, request("/huge", "k1")))
        .isEqualTo(
            new Unreadable(
                "payments POST /huge",
                "answered 200 but its body could not be read: over 1048576 bytes"));
    assertThat(call(configured, request("/fits", "k2"))).isInstanceOf(Succeeded.class);
  }

  @Test
  void sagaHeadersAndJsonBodyArriveUnchanged() throws Exception {
    Map<String, String> headers =
        Map.of(
            "Idempotency-Key", "saga-42/charge",
            "Saga-Id", "saga-42",
            "Saga-Type", "trip-booking",
            "Saga-Step", "charge",
            "Saga-Attempt", "3",
            "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    JsonNode body = JSON.readTree("{\"amount\":1999,\"currency\":\"EUR\",\"tags\":[\"a\",\"b\"]}");

    Outcome outcome =
        call(client, new ParticipantRequest("payments", "post", CHARGE, body, headers, TIMEOUT));

    assertThat(outcome).isInstanceOf(Succeeded.class);
    Call call = stub.awaitCalls(CHARGE, 1, TIMEOUT).get(0);
    assertThat(call.method()).isEqualTo("POST");
    headers.forEach((name, value) -> assertThat(call.header(name)).as(name).contains(value));
    assertThat(call.sagaAttempt()).hasValue(3);
    assertThat(call.header("Content-Type")).contains("application/json");
    assertThat(call.header("Accept")).contains("application/json");
    assertThat(call.bodyJson()).isEqualTo(body);
  }

  @Test
  void requestWithoutBodySendsNoContentType() throws Exception {
    call(
        client,
        new ParticipantRequest("payments", "DELETE", "/payments/c-1", null, Map.of(), TIMEOUT));

    Call call = stub.awaitCalls("/payments/c-1", 1, TIMEOUT).get(0);
    assertThat(call.method()).isEqualTo("DELETE");
    assertThat(call.header("Content-Type")).isEmpty();
    assertThat(call.body()).isEmpty();
  }

  /**
   * pekko-http's futures, seen as CompletableFutures, run even non-async callbacks through
   * ForkJoinPool.commonPool(); with fewer than 3 CPUs (as here: failsafe sets its parallelism to 1)
   * CompletableFuture then starts a thread per callback. The client must name Pekko's dispatcher
   * for every callback. One call at a time, so that neither the pool nor the stub server needs
   * another connection (or thread): 100 calls would start 300 threads that way.
   */
  @Test
  void callsStartNoThreadPerCallback() throws Exception {
    assertThat(ForkJoinPool.getCommonPoolParallelism()).isEqualTo(1);
    // Warm the pool, the connection and the dispatcher up first: their threads start once.
    assertThat(call(client, request(CHARGE, "warm-up/charge"))).isInstanceOf(Succeeded.class);
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    long before = threads.getTotalStartedThreadCount();

    for (int i = 0; i < 100; i++) {
      assertThat(call(client, request("/payments/" + i, "saga-" + i + "/charge")))
          .isInstanceOf(Succeeded.class);
    }

    assertThat(threads.getTotalStartedThreadCount() - before)
        .as("threads started for 100 calls")
        .isLessThan(10);
  }

  @Test
  void twoHundredConcurrentCallsThroughThePoolAllSucceed() throws Exception {
    stub.on("/payments/*").delay(Duration.ofMillis(50));
    List<CompletableFuture<Outcome>> calls = new ArrayList<>();

    for (int i = 0; i < 200; i++) {
      calls.add(
          client
              .call(
                  new ParticipantRequest(
                      "payments",
                      "POST",
                      "/payments/" + i,
                      null,
                      Map.of("Idempotency-Key", "saga-" + i + "/charge"),
                      Duration.ofSeconds(20)))
              .toCompletableFuture());
    }
    CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);

    assertThat(calls).allSatisfy(c -> assertThat(c.join()).isInstanceOf(Succeeded.class));
    assertThat(stub.appliedEffects()).isEqualTo(200);
    assertThat(stub.maxTimesApplied()).isEqualTo(1);
  }

  @Test
  void failuresThenSuccessApplyTheEffectOnce() throws Exception {
    stub.on(CHARGE).failTimes(2, 503).respond(200, "{\"chargeId\":\"c-7\"}");
    ParticipantRequest request = request(CHARGE, "saga-7/charge");

    assertThat(call(client, request)).isInstanceOf(Retryable.class);
    assertThat(call(client, request)).isInstanceOf(Retryable.class);
    assertThat(call(client, request)).isInstanceOf(Succeeded.class);

    assertThat(stub.calls(CHARGE)).hasSize(3);
    assertThat(stub.timesApplied("saga-7/charge")).isEqualTo(1);
  }

  @Test
  void stubAppliesARepeatedIdempotencyKeyOnceAndReplaysItsResponse() throws Exception {
    stub.on(CHARGE).handle(c -> Response.json(201, "{\"call\":" + c.sequence() + "}"));

    Outcome first = call(client, request(CHARGE, "saga-1/charge"));
    Outcome second = call(client, request(CHARGE, "saga-1/charge"));
    Outcome other = call(client, request(CHARGE, "saga-2/charge"));

    assertThat(second).isEqualTo(first);
    assertThat(other).isNotEqualTo(first);
    assertThat(stub.calls(CHARGE)).hasSize(3);
    assertThat(stub.timesApplied("saga-1/charge")).isEqualTo(1);
    assertThat(stub.appliedKeys()).containsExactlyInAnyOrder("saga-1/charge", "saga-2/charge");
    assertThat(stub.maxTimesApplied()).isEqualTo(1);
  }

  @Test
  void stubAppliesConcurrentDuplicatesOnce() throws Exception {
    stub.on(CHARGE)
        .delay(Duration.ofMillis(300))
        .handle(c -> Response.json(200, "{\"call\":" + c.sequence() + "}"));

    CompletableFuture<Outcome> first =
        client.call(request(CHARGE, "saga-1/charge")).toCompletableFuture();
    stub.awaitCalls(CHARGE, 1, TIMEOUT);
    CompletableFuture<Outcome> duplicate =
        client.call(request(CHARGE, "saga-1/charge")).toCompletableFuture();

    assertThat(duplicate.get(10, TimeUnit.SECONDS)).isEqualTo(first.get(10, TimeUnit.SECONDS));
    assertThat(stub.timesApplied("saga-1/charge")).isEqualTo(1);
  }

  @Test
  void unknownParticipantIsPermanentAndSaysWhatToConfigure() throws Exception {
    Outcome outcome =
        call(
            client,
            new ParticipantRequest("inventory", "POST", "/reserve", null, Map.of(), TIMEOUT));

    assertThat(outcome).isInstanceOf(Permanent.class);
    assertThat(((Permanent) outcome).error())
        .contains("SAGAFLOW_PARTICIPANTS_INVENTORY_URL")
        .contains("sagaflow.participants.inventory.url");
  }

  @Test
  void headerWithALineBreakIsPermanentAndNeverSent() throws Exception {
    ParticipantRequest request =
        new ParticipantRequest(
            "payments", "POST", CHARGE, null, Map.of("Saga-Id", "evil\r\nX-Injected: 1"), TIMEOUT);

    assertThat(call(client, request)).isInstanceOf(Permanent.class);
    assertThat(stub.calls()).isEmpty();
  }

  @Test
  void unknownMethodIsPermanent() throws Exception {
    Outcome outcome =
        call(client, new ParticipantRequest("payments", "FROB", CHARGE, null, Map.of(), TIMEOUT));

    assertThat(outcome).isInstanceOf(Permanent.class);
    assertThat(((Permanent) outcome).error()).contains("unknown HTTP method");
  }

  @Test
  void everyResponseEntityIsReleasedEvenWithASingleConnection() throws Exception {
    // One connection and no subscription timeout: an entity left unread after any of these
    // outcomes would hold the only connection and time out the next call; one released before
    // its connection is really free would fail the next call.
    ActorTestKit singleConnection =
        ActorTestKit.create(
            "single-connection",
            ConfigFactory.parseString(
                "sagaflow.participant-client.host-connection-pool {\n"
                    + "  max-connections = 1\n"
                    + "  response-entity-subscription-timeout = 1 min\n"
                    + "}"));
    try {
      HttpParticipantClient single =
          new HttpParticipantClient(singleConnection.system(), directoryFor(stub.baseUrl()), 1024);
      String big = "{\"blob\":\"" + "x".repeat(4000) + "\"}";
      stub.on("/big").respond(Response.json(200, big));
      stub.on("/big-chunked").respond(Response.json(200, big).withChunkedBody());
      stub.on("/big-error").respond(Response.json(503, big));
      stub.on("/error").alwaysStatus(422);
      stub.on("/slow").delay(Duration.ofMillis(500));
      ParticipantRequest slow =
          new ParticipantRequest(
              "payments", "POST", "/slow", null, Map.of(), Duration.ofMillis(100));

      // Rounds, because a connection released too early fails the next call only sometimes
      // (about one in five with a cancelled oversized body).
      for (int round = 0; round < 30; round++) {
        assertThat(call(single, request("/big", "a" + round))).isInstanceOf(Unreadable.class);
        assertThat(call(single, request("/ok", "ok-a" + round))).isInstanceOf(Succeeded.class);
      }
      for (int round = 0; round < 5; round++) {
        assertThat(call(single, request("/big-chunked", "b" + round)))
            .isInstanceOf(Unreadable.class);
        assertThat(call(single, request("/ok", "ok-b" + round))).isInstanceOf(Succeeded.class);
        assertThat(call(single, request("/big-error", "c" + round))).isInstanceOf(Retryable.class);
        assertThat(call(single, request("/ok", "ok-c" + round))).isInstanceOf(Succeeded.class);
        assertThat(call(single, request("/error", "d" + round))).isInstanceOf(Permanent.class);
        assertThat(call(single, request("/ok", "ok-d" + round))).isInstanceOf(Succeeded.class);
      }
      assertThat(call(single, slow)).isInstanceOf(Retryable.class);
      assertThat(call(single, request("/ok", "ok-slow"))).isInstanceOf(Succeeded.class);
    } finally {
      shutDown(singleConnection);
    }
  }

  @Test
  void aCallWhoseDeadlinePassesWhileItWaitsForAConnectionIsNeverSent() throws Exception {
    // pekko-http's pool cannot take back a queued request: it used to send this call once the
    // connection freed up, long after the saga had given up on it (and maybe compensated it).
    ActorTestKit kit = singleConnectionKit("late-call");
    CountDownLatch release = new CountDownLatch(1);
    try {
      HttpParticipantClient single =
          new HttpParticipantClient(kit.system(), directoryFor(stub.baseUrl()), 1024 * 1024);
      stub.on("/hold")
          .handle(
              call -> {
                awaitQuietly(release);
                return Response.json(200, "{\"held\":true}");
              });
      CompletableFuture<Outcome> holding =
          single.call(request("/hold", "holds-the-connection")).toCompletableFuture();
      stub.awaitCalls("/hold", 1, Duration.ofSeconds(10));

      Outcome late =
          call(
              single,
              new ParticipantRequest(
                  "payments",
                  "POST",
                  CHARGE,
                  null,
                  Map.of("Idempotency-Key", "late"),
                  Duration.ofMillis(200)));
      release.countDown();

      assertThat(late)
          .isEqualTo(
              Retryable.of(
                  "timed out after 200ms waiting for a connection to "
                      + stub.baseUrl()
                      + ", not sent: payments POST /payments/charge"));
      assertThat(holding.get(10, TimeUnit.SECONDS)).isInstanceOf(Succeeded.class);
      // Calls leave in order: had the late one been sent when the connection freed up, it would
      // have reached the participant before this one.
      assertThat(call(single, request(CHARGE, "after"))).isInstanceOf(Succeeded.class);
      assertThat(stub.calls().stream().map(c -> c.idempotencyKey().orElse("")))
          .containsExactly("holds-the-connection", "after");
    } finally {
      release.countDown();
      shutDown(kit);
    }
  }

  @Test
  void aCallWaitingForAConnectionIsNotSentOnceTheNodeIsFenced() throws Exception {
    ActorTestKit kit = singleConnectionKit("fenced-call");
    CountDownLatch release = new CountDownLatch(1);
    try {
      NodeFence fence = NodeFence.get(kit.system().classicSystem());
      fence.enable("node-1");
      fence.renewed(System.nanoTime(), Duration.ofMinutes(5));
      HttpParticipantClient single =
          new HttpParticipantClient(kit.system(), directoryFor(stub.baseUrl()), 1024 * 1024);
      stub.on("/hold")
          .handle(
              call -> {
                awaitQuietly(release);
                return Response.json(200, "{\"held\":true}");
              });
      CompletableFuture<Outcome> holding =
          single.call(request("/hold", "holds-the-connection")).toCompletableFuture();
      stub.awaitCalls("/hold", 1, Duration.ofSeconds(10));
      CompletableFuture<Outcome> waiting =
          single.call(request(CHARGE, "waits")).toCompletableFuture();

      // As when the node wakes from a freeze past its lease with this call still waiting.
      fence.closeForGood("frozen past its lease");
      release.countDown();

      assertThat(holding.get(10, TimeUnit.SECONDS)).isInstanceOf(Succeeded.class);
      assertThat(waiting.get(10, TimeUnit.SECONDS))
          .isEqualTo(
              Retryable.of(
                  "not sent: payments POST /payments/charge: this node is fenced for good: frozen"
                      + " past its lease"));
      assertThat(stub.calls(CHARGE)).isEmpty();
    } finally {
      release.countDown();
      shutDown(kit);
    }
  }

  @Test
  void aCallWithdrawnWhileItWaitsForAConnectionIsNeverSent() throws Exception {
    ActorTestKit kit = singleConnectionKit("withdrawn-call");
    CountDownLatch release = new CountDownLatch(1);
    try {
      HttpParticipantClient single =
          new HttpParticipantClient(kit.system(), directoryFor(stub.baseUrl()), 1024 * 1024);
      stub.on("/hold")
          .handle(
              call -> {
                awaitQuietly(release);
                return Response.json(200, "{\"held\":true}");
              });
      CompletableFuture<Outcome> holding =
          single.call(request("/hold", "holds-the-connection")).toCompletableFuture();
      stub.awaitCalls("/hold", 1, Duration.ofSeconds(10));
      var sagaStopped = new java.util.concurrent.atomic.AtomicBoolean();
      CompletableFuture<Outcome> waiting =
          single
              .call(
                  new ParticipantRequest(
                      "payments",
                      "POST",
                      CHARGE,
                      null,
                      Map.of("Idempotency-Key", "waits"),
                      TIMEOUT,
                      sagaStopped::get))
              .toCompletableFuture();

      // As when the saga's shard is handed off to another node with this call still waiting.
      sagaStopped.set(true);
      release.countDown();

      assertThat(holding.get(10, TimeUnit.SECONDS)).isInstanceOf(Succeeded.class);
      assertThat(waiting.get(10, TimeUnit.SECONDS))
          .isEqualTo(
              Retryable.of(
                  "not sent: payments POST /payments/charge: withdrawn: the saga stopped on this"
                      + " node"));
      assertThat(stub.calls(CHARGE)).isEmpty();
    } finally {
      release.countDown();
      shutDown(kit);
    }
  }

  @Test
  void aRequestAlreadyInsideThePoolIsNotWrittenOnceTheNodeIsFenced() throws Exception {
    // The gate let the call go with the fence open; the node froze while the request was still in
    // pekko-http's pool and woke fenced. Nothing of it may reach the participant.
    ActorTestKit kit = ActorTestKit.create("fenced-in-pool");
    try {
      NodeFence fence = NodeFence.get(kit.system().classicSystem());
      fence.enable("node-1");
      fence.renewed(System.nanoTime(), Duration.ofMinutes(5));
      HttpParticipantClient client =
          new HttpParticipantClient(
              kit.system(),
              directoryFor(stub.baseUrl()),
              1024 * 1024,
              ParticipantBreakers.Settings.fromConfig(kit.system().settings().config()),
              closingFenceOn("frozen-inside", fence, FencedTransport.overTcp(fence)));

      assertThat(call(client, request(CHARGE, "before"))).isInstanceOf(Succeeded.class);
      Outcome fenced = call(client, request(CHARGE, "frozen-inside"));

      assertThat(fenced)
          .isEqualTo(
              Retryable.of(
                  "not sent: payments POST /payments/charge: this node is fenced for good: woke"
                      + " with the request inside the pool"));
      assertThat(stub.calls().stream().map(c -> c.idempotencyKey().orElse("")))
          .containsExactly("before");
    } finally {
      shutDown(kit);
    }
  }

  /**
   * A transport that closes the fence when a request carrying {@code marker} reaches it, on its way
   * to {@code fenced}: after the gate, before the socket.
   */
  private static ClientTransport closingFenceOn(
      String marker, NodeFence fence, ClientTransport fenced) {
    return new ClientTransport() {
      @Override
      public Flow<ByteString, ByteString, CompletionStage<OutgoingConnection>> connectTo(
          String host,
          int port,
          ClientConnectionSettings settings,
          org.apache.pekko.actor.ActorSystem system) {
        return Flow.of(ByteString.class)
            .map(
                bytes -> {
                  if (bytes.utf8String().contains(marker)) {
                    fence.closeForGood("woke with the request inside the pool");
                  }
                  return bytes;
                })
            .viaMat(fenced.connectTo(host, port, settings, system), Keep.right());
      }
    };
  }

  private static ActorTestKit singleConnectionKit(String name) {
    return ActorTestKit.create(
        name,
        ConfigFactory.parseString(
            "sagaflow.participant-client.host-connection-pool.max-connections = 1"));
  }

  @Test
  void openBreakerFailsCallsAtOnceWithoutSendingThemAndSaysWhy() throws Exception {
    stub.on(CHARGE).alwaysStatus(503);
    HttpParticipantClient guarded = clientWithBreaker(3, Duration.ofMinutes(1));
    for (int i = 0; i < 3; i++) {
      assertThat(call(guarded, request(CHARGE, "saga-" + i + "/charge")))
          .isInstanceOf(Retryable.class);
    }

    Retryable notSent = awaitNotSent(guarded, "is open");
    int sent = stub.calls(CHARGE).size();
    List<Outcome> outcomes = concurrently(guarded, 200);

    assertThat(outcomes)
        .allSatisfy(
            o ->
                assertThat(((Retryable) o).error())
                    .startsWith("not sent: the circuit breaker of participant 'payments' is open"));
    assertThat(stub.calls(CHARGE)).as("calls that reached the participant").hasSize(sent);
    assertThat(notSent.error())
        .contains("(payments POST /payments/charge)")
        .contains("last failure: payments POST /payments/charge answered 503");
    // The breaker's remaining reset time, plus up to one reset time of spread.
    assertThat(notSent.retryAfter())
        .hasValueSatisfying(
            d -> assertThat(d).isPositive().isLessThanOrEqualTo(Duration.ofMinutes(2)));
    // Every participant has a breaker of its own.
    assertThat(
            call(
                guarded,
                new ParticipantRequest("inventory", "POST", "/reserve", null, Map.of(), TIMEOUT)))
        .isInstanceOf(Succeeded.class);
  }

  @Test
  void halfOpenBreakerSendsOneTrialCallReopensWhenItFailsAndClosesWhenOneSucceeds()
      throws Exception {
    AtomicBoolean healthy = new AtomicBoolean();
    AtomicReference<CountDownLatch> hold = new AtomicReference<>();
    stub.on(CHARGE)
        .handle(
            c -> {
              CountDownLatch latch = hold.get();
              if (latch != null) {
                awaitQuietly(latch); // the participant is still working on the trial call
              }
              return healthy.get()
                  ? Response.json(200, "{\"ok\":true}")
                  : Response.json(503, "{\"error\":\"down\"}");
            });
    HttpParticipantClient guarded = clientWithBreaker(2, Duration.ofMillis(200));
    assertThat(call(guarded, request(CHARGE, "a"))).isInstanceOf(Retryable.class);
    assertThat(call(guarded, request(CHARGE, "b"))).isInstanceOf(Retryable.class);
    awaitNotSent(guarded, "is open");
    int beforeTrial = stub.calls(CHARGE).size();

    hold.set(new CountDownLatch(1));
    List<CompletableFuture<Outcome>> polls = new ArrayList<>();
    Eventually.until(
        "a trial call reaches the participant",
        TIMEOUT,
        () -> {
          polls.add(guarded.call(request(CHARGE, "poll")).toCompletableFuture());
          return stub.calls(CHARGE).size() > beforeTrial;
        });
    List<Outcome> whileTrialRuns = concurrently(guarded, 100);

    assertThat(whileTrialRuns)
        .allSatisfy(
            o -> {
              assertThat(((Retryable) o).error()).contains("is half-open, a trial call");
              // Spread over one reset timeout, so they do not all come back at once.
              assertThat(((Retryable) o).retryAfter())
                  .hasValueSatisfying(
                      d -> assertThat(d).isBetween(Duration.ZERO, Duration.ofMillis(200)));
            });
    // Evenly, not clumped as independent random waits are: each tenth of the reset timeout holds
    // about a tenth of them (random waits put 13 or more of 100, or 7 or fewer, in some tenth most
    // of the time).
    int[] tenths = new int[10];
    for (Outcome o : whileTrialRuns) {
      long millis = ((Retryable) o).retryAfter().orElseThrow().toMillis();
      tenths[(int) Math.min(9, millis / 20)]++;
    }
    assertThat(java.util.Arrays.stream(tenths).boxed().toList())
        .as("hints per 20 ms of the 200 ms reset timeout")
        .allSatisfy(n -> assertThat(n).isBetween(8, 12));
    assertThat(stub.calls(CHARGE)).hasSize(beforeTrial + 1);

    hold.get().countDown();
    hold.set(null);
    awaitNotSent(guarded, "is open");
    assertThat(stub.calls(CHARGE)).as("the failed trial opened it again").hasSize(beforeTrial + 1);

    healthy.set(true);
    Eventually.until(
        "the breaker closes after a successful trial",
        TIMEOUT,
        () -> callQuietly(guarded) instanceof Succeeded);
    int afterRecovery = stub.calls(CHARGE).size();
    List<Outcome> closed = concurrently(guarded, 50);

    assertThat(closed).allSatisfy(o -> assertThat(o).isInstanceOf(Succeeded.class));
    assertThat(stub.calls(CHARGE)).hasSize(afterRecovery + 50);
    assertThat(CompletableFuture.allOf(polls.toArray(CompletableFuture[]::new)))
        .succeedsWithin(TIMEOUT);
  }

  @Test
  void rejectionsAndAnswersAboutOneRequestNeverOpenTheBreaker() throws Exception {
    stub.on("/rejected").alwaysStatus(422);
    stub.on("/too-slow-to-send").alwaysStatus(408);
    stub.on(CHARGE).alwaysStatus(503);
    HttpParticipantClient guarded = clientWithBreaker(2, Duration.ofMinutes(1));

    for (int i = 0; i < 20; i++) {
      assertThat(call(guarded, request("/rejected", "r" + i))).isInstanceOf(Permanent.class);
      assertThat(call(guarded, request("/too-slow-to-send", "s" + i)))
          .isInstanceOf(Retryable.class);
      // One unwell answer at a time: each rejection in between shows the participant answers.
      assertThat(((Retryable) call(guarded, request(CHARGE, "c" + i))).error())
          .contains("answered 503");
    }

    assertThat(stub.calls()).hasSize(60);
  }

  @Test
  void disabledBreakerSendsEveryCall() throws Exception {
    stub.on(CHARGE).alwaysStatus(503);
    HttpParticipantClient unguarded =
        new HttpParticipantClient(
            testKit.system(),
            directoryFor(stub.baseUrl()),
            1024,
            new ParticipantBreakers.Settings(
                false,
                2,
                Duration.ofMinutes(10),
                Duration.ofMinutes(1),
                Duration.ofMinutes(1),
                1,
                0));

    for (int i = 0; i < 10; i++) {
      assertThat(((Retryable) call(unguarded, request(CHARGE, "k" + i))).error())
          .contains("answered 503");
    }
    assertThat(stub.calls(CHARGE)).hasSize(10);
  }

  @Test
  void poolSettingsComeFromTheParticipantClientSection() {
    ConnectionPoolSettings settings =
        HttpParticipantClient.poolSettings(testKit.system().settings().config());

    assertThat(settings.getMaxConnections()).isEqualTo(64);
    assertThat(settings.getMaxOpenRequests()).isEqualTo(1024);
    assertThat(settings.getMaxRetries()).isZero();
    assertThat(settings.getMaxConnectionLifetime()).isEqualTo(Duration.ofMinutes(5));
  }

  private static ParticipantDirectory directoryFor(String baseUrl) {
    return new ParticipantDirectory(
        ConfigFactory.parseMap(Map.of("sagaflow.participants.payments.url", baseUrl + "/")),
        Map.of());
  }

  private static HttpParticipantClient clientFor(String baseUrl, long maxResponseBytes) {
    return new HttpParticipantClient(testKit.system(), directoryFor(baseUrl), maxResponseBytes);
  }

  /** A client whose breaker opens after {@code maxFailures} and tries again after {@code reset}. */
  private HttpParticipantClient clientWithBreaker(int maxFailures, Duration reset) {
    var directory =
        new ParticipantDirectory(
            ConfigFactory.parseMap(
                Map.of(
                    "sagaflow.participants.payments.url", stub.baseUrl(),
                    "sagaflow.participants.inventory.url", stub.baseUrl())),
            Map.of());
    return new HttpParticipantClient(
        testKit.system(),
        directory,
        1024 * 1024,
        new ParticipantBreakers.Settings(
            true, maxFailures, Duration.ofMinutes(10), reset, reset, 1, 0));
  }

  /** Calls until one is turned away by the breaker without being sent, and returns it. */
  private static Retryable awaitNotSent(HttpParticipantClient client, String state) {
    return Eventually.await(
        "a call the breaker did not send (" + state + ")",
        TIMEOUT,
        () ->
            callQuietly(client) instanceof Retryable r
                    && r.error().startsWith("not sent:")
                    && r.error().contains(state)
                ? r
                : null);
  }

  private static Outcome callQuietly(HttpParticipantClient client) {
    try {
      return call(client, request(CHARGE, "probe"));
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<Outcome> concurrently(HttpParticipantClient client, int n) throws Exception {
    List<CompletableFuture<Outcome>> calls = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      calls.add(client.call(request(CHARGE, "saga-" + i + "/charge")).toCompletableFuture());
    }
    CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
    return calls.stream().map(CompletableFuture::join).toList();
  }

  private static void awaitQuietly(CountDownLatch latch) {
    try {
      latch.await(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static ParticipantRequest request(String path, String idempotencyKey) {
    return new ParticipantRequest(
        "payments", "POST", path, null, Map.of("Idempotency-Key", idempotencyKey), TIMEOUT);
  }

  private static Outcome call(HttpParticipantClient client, ParticipantRequest request)
      throws Exception {
    return client.call(request).toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
