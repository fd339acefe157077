package io.sagaflow.node;

import static io.sagaflow.node.TestNodes.awaitStatus;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.SagaView;
import io.sagaflow.orchestrator.StepStatus;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepContext;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.testing.TestDatabase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Parallel groups and fan-outs end to end: a node on real PostgreSQL calling a real HTTP stub
 * participant. Each test uses its own paths (the input's {@code scenario}).
 */
class NodeGroupIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();

  /** quote, then flight and hotel in parallel, then finish. */
  static final SagaDefinition<?> GROUPED =
      SagaDefinition.builder("grouped")
          .defaultRetry(
              r ->
                  r.maxAttempts(2)
                      .minBackoff(Duration.ofMillis(50))
                      .maxBackoff(Duration.ofMillis(100)))
          .compensationRetry(
              r ->
                  r.maxAttempts(3)
                      .minBackoff(Duration.ofMillis(50))
                      .maxBackoff(Duration.ofMillis(100)))
          .defaultTimeout(Duration.ofSeconds(20))
          .step(Step.named("quote").invoke(call("quote")).compensateWith(call("undo-quote")))
          .group(
              "book",
              g ->
                  g.step(
                          Step.named("flight")
                              .invoke(call("flight"))
                              .compensateWith(call("undo-flight")))
                      .step(
                          Step.named("hotel")
                              .invoke(call("hotel"))
                              .compensateWith(call("undo-hotel"))))
          .step(Step.named("finish").invoke(call("finish")).noCompensation())
          .build();

  /** Invites every guest of the input, two at a time. */
  static final SagaDefinition<?> FANNED =
      SagaDefinition.builder("fanned")
          .defaultTimeout(Duration.ofSeconds(20))
          .step(
              Step.named("invite")
                  .forEach(
                      ctx -> {
                        var guests = new ArrayList<String>();
                        ctx.inputJson().get("guests").forEach(g -> guests.add(g.asText()));
                        return guests;
                      },
                      guest -> guest)
                  .maxConcurrency(2)
                  .invoke(
                      HttpCall.post(
                          "payments",
                          ctx -> "/" + scenarioOf(ctx) + "/invite/" + ctx.<String>element(),
                          StepContext::inputJson))
                  .compensateWith(
                      HttpCall.post(
                          "payments",
                          ctx -> "/" + scenarioOf(ctx) + "/uninvite/" + ctx.elementKey())))
          .build();

  static HttpCall<Object> call(String action) {
    return HttpCall.post(
        "payments", ctx -> "/" + scenarioOf(ctx) + "/" + action, StepContext::inputJson);
  }

  private static String scenarioOf(StepContext<?> ctx) {
    return ctx.inputJson().get("scenario").asText();
  }

  private static TestDatabase db;
  private static StubParticipant stub;
  private static SagaflowNode node;

  @BeforeAll
  static void startNode() {
    db = TestDatabase.fresh();
    stub = StubParticipant.start();
    node = TestNodes.start(db, stub.baseUrl(), List.of(GROUPED, FANNED));
  }

  @AfterAll
  static void stopNode() {
    node.close();
    stub.close();
  }

  private final String scenario = "g-" + UUID.randomUUID().toString().substring(0, 8);
  private final String sagaId = "saga-" + scenario;

  private ObjectNode input() {
    return JSON.createObjectNode().put("scenario", scenario);
  }

  private String path(String action) {
    return "/" + scenario + "/" + action;
  }

  private void start(String type, ObjectNode in) {
    node.engine().start(sagaId, type, null, in).toCompletableFuture().join();
  }

  private List<String> calledPaths() {
    return stub.calls().stream()
        .map(StubParticipant.Call::path)
        .filter(p -> p.startsWith("/" + scenario + "/"))
        .map(p -> p.substring(scenario.length() + 2))
        .toList();
  }

  @Test
  void theBranchesAreCalledTogetherAndTheSagaGoesOnOnceBothHaveAnswered() {
    // Neither branch answers before the other's call has arrived: called one after the other,
    // the first would wait out its 10 s here and answer 503.
    var bothArrived = new CountDownLatch(2);
    StubParticipant.Response ok = StubParticipant.Response.json(200, "{\"id\": \"r-1\"}");
    for (String branch : List.of("flight", "hotel")) {
      stub.on(path(branch))
          .handle(
              call -> {
                bothArrived.countDown();
                try {
                  return bothArrived.await(10, TimeUnit.SECONDS)
                      ? ok
                      : StubParticipant.Response.json(503, "{}");
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                  return StubParticipant.Response.json(503, "{}");
                }
              });
    }
    start("grouped", input());

    SagaView done = awaitStatus(node, sagaId, SagaStatus.COMPLETED, WAIT);
    assertThat(calledPaths()).startsWith("quote").endsWith("finish").hasSize(4);
    assertThat(done.step("book").branches())
        .allSatisfy(
            b -> {
              assertThat(b.status()).isEqualTo(StepStatus.SUCCEEDED);
              assertThat(b.attempts()).isEqualTo(1);
              assertThat(b.output().get("id").asText()).isEqualTo("r-1");
            });
    assertThat(stub.calls(path("hotel")).get(0).idempotencyKey()).contains(sagaId + "/hotel");
    assertThat(stub.calls(path("flight")).get(0).header("Saga-Step")).contains("flight");
  }

  @Test
  void aRejectedBranchUndoesTheOtherBranchThenTheStepBefore() {
    stub.on(path("hotel")).alwaysStatus(422);
    // The flight's call is still out when the hotel is refused: it is undone once it answers.
    stub.on(path("flight")).delay(Duration.ofMillis(500));
    start("grouped", input());

    SagaView done = awaitStatus(node, sagaId, SagaStatus.COMPENSATED, WAIT);
    List<String> calls = calledPaths();
    assertThat(calls.subList(0, 3)).containsExactlyInAnyOrder("quote", "flight", "hotel");
    assertThat(calls.subList(3, calls.size())).containsExactly("undo-flight", "undo-quote");
    assertThat(stub.timesApplied(sagaId + "/flight")).isEqualTo(1);
    assertThat(done.failure()).contains("step 'hotel' was rejected");
    assertThat(done.step("hotel").status()).isEqualTo(StepStatus.REJECTED);
    assertThat(done.step("flight").status()).isEqualTo(StepStatus.COMPENSATED);
    assertThat(done.step("book").status()).isEqualTo(StepStatus.COMPENSATED);
  }

  @Test
  void aFanOutCallsEachElementWithItsOwnKeyAndCollectsTheOutputsInOrder() {
    var in = input();
    in.putArray("guests").add("ada").add("bob").add("cy");
    for (String guest : List.of("ada", "bob", "cy")) {
      stub.on(path("invite/" + guest)).respond(200, "{\"guest\": \"" + guest + "\"}");
    }
    start("fanned", in);

    SagaView done = awaitStatus(node, sagaId, SagaStatus.COMPLETED, WAIT);
    assertThat(calledPaths()).containsExactlyInAnyOrder("invite/ada", "invite/bob", "invite/cy");
    assertThat(stub.calls(path("invite/bob")).get(0).idempotencyKey())
        .contains(sagaId + "/invite/bob");
    assertThat(done.step("invite").output())
        .extracting(o -> o.get("guest").asText())
        .containsExactly("ada", "bob", "cy");
    assertThat(done.step("invite").branches())
        .extracting(SagaView.StepView::name)
        .containsExactly("invite/ada", "invite/bob", "invite/cy");
  }
}
