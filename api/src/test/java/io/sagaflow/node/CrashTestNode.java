package io.sagaflow.node;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaReplies;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;

/**
 * A node in its own JVM for {@link CrashRecoveryIT}: {@code CrashTestNode <participantsUrl>
 * [sagasToStart [type]]} (type {@code crash} or {@code crash-group}, ids {@code {type}-{n}}). The
 * database comes from {@code SAGAFLOW_DB_URL}. Prints {@code UP} once the node runs and {@code
 * STARTED n} once n starts are acknowledged, then runs until killed.
 */
public final class CrashTestNode {
  static final SagaDefinition<?> CRASH =
      SagaDefinition.builder("crash")
          .defaultRetry(r -> r.minBackoff(Duration.ofMillis(100)).maxBackoff(Duration.ofSeconds(1)))
          .defaultTimeout(Duration.ofSeconds(10))
          .step(
              Step.named("a")
                  .invoke(HttpCall.post("payments", "/a").withBody(ctx -> ctx.input()))
                  .compensateWith(HttpCall.post("payments", "/undo-a")))
          .step(
              Step.named("b")
                  .invoke(HttpCall.post("payments", "/b").withBody(ctx -> ctx.input()))
                  .compensateWith(HttpCall.post("payments", "/undo-b")))
          .step(
              Step.named("c")
                  .invoke(HttpCall.post("payments", "/c").withBody(ctx -> ctx.input()))
                  .noCompensation())
          .build();

  /** a, then g1 and g2 in parallel, then c: for a kill in the middle of a group. */
  static final SagaDefinition<?> CRASH_GROUP =
      SagaDefinition.builder("crash-group")
          .defaultRetry(r -> r.minBackoff(Duration.ofMillis(100)).maxBackoff(Duration.ofSeconds(1)))
          .defaultTimeout(Duration.ofSeconds(10))
          .step(
              Step.named("a")
                  .invoke(HttpCall.post("payments", "/a").withBody(ctx -> ctx.input()))
                  .compensateWith(HttpCall.post("payments", "/undo-a")))
          .group(
              "g",
              g ->
                  g.step(
                          Step.named("g1")
                              .invoke(HttpCall.post("payments", "/g1").withBody(ctx -> ctx.input()))
                              .compensateWith(HttpCall.post("payments", "/undo-g1")))
                      .step(
                          Step.named("g2")
                              .invoke(HttpCall.post("payments", "/g2").withBody(ctx -> ctx.input()))
                              .compensateWith(HttpCall.post("payments", "/undo-g2"))))
          .step(
              Step.named("c")
                  .invoke(HttpCall.post("payments", "/c").withBody(ctx -> ctx.input()))
                  .noCompensation())
          .build();

  /** a, then a wait for the signal "go" (up to ten minutes), then c: for a kill mid-wait. */
  static final SagaDefinition<?> CRASH_SIGNAL =
      SagaDefinition.builder("crash-signal")
          .defaultRetry(r -> r.minBackoff(Duration.ofMillis(100)).maxBackoff(Duration.ofSeconds(1)))
          .defaultTimeout(Duration.ofSeconds(10))
          .step(
              Step.named("a")
                  .invoke(HttpCall.post("payments", "/a").withBody(ctx -> ctx.input()))
                  .compensateWith(HttpCall.post("payments", "/undo-a")))
          .step(
              Step.named("go")
                  .awaitSignal(io.sagaflow.orchestrator.dsl.AwaitSignal.named("go"))
                  .timeout(Duration.ofMinutes(10)))
          .step(
              Step.named("c")
                  .invoke(HttpCall.post("payments", "/c").withBody(ctx -> ctx.input()))
                  .noCompensation())
          .build();

  private CrashTestNode() {}

  /** A timed-out start has an unknown outcome: a client retries it with the same id. */
  private static CompletableFuture<SagaReplies.StartReply> startWithRetries(
      SagaflowNode node,
      String type,
      String id,
      com.fasterxml.jackson.databind.JsonNode input,
      int tries) {
    return node.engine()
        .start(id, type, null, input)
        .toCompletableFuture()
        .<CompletableFuture<SagaReplies.StartReply>>handle(
            (reply, failure) -> {
              if (failure == null) {
                return CompletableFuture.completedFuture(reply);
              }
              return tries > 1
                  ? startWithRetries(node, type, id, input, tries - 1)
                  : CompletableFuture.failedFuture(failure);
            })
        .thenCompose(f -> f);
  }

  public static void main(String[] args) {
    try {
      run(args);
    } catch (Throwable e) {
      e.printStackTrace();
      // Pekko's threads would keep a broken node JVM alive; the test must see it die.
      System.exit(1);
    }
  }

  private static void run(String[] args) {
    String participants = args[0];
    int sagas = args.length > 1 ? Integer.parseInt(args[1]) : 0;
    String type = args.length > 2 ? args[2] : "crash";
    var config =
        ConfigFactory.parseMap(
            Map.of(
                "pekko.remote.artery.canonical.port", 0,
                "sagaflow.http.port", 0,
                "pekko.management.http.port", 0,
                "sagaflow.engine.ask-timeout", "20s",
                "sagaflow.participants.payments.url", participants));
    var node = SagaflowNode.start(config, List.of(CRASH, CRASH_GROUP, CRASH_SIGNAL));
    // The port before UP: a test that has seen UP reads the port at once.
    System.out.println("HTTP " + node.httpPort());
    System.out.println("UP");
    System.out.flush();
    if (sagas > 0) {
      var json = new ObjectMapper();
      CompletableFuture.allOf(
              IntStream.range(0, sagas)
                  .mapToObj(
                      i ->
                          startWithRetries(
                              node, type, type + "-" + i, json.createObjectNode().put("n", i), 5))
                  .toArray(CompletableFuture[]::new))
          .join();
      System.out.println("STARTED " + sagas);
      System.out.flush();
    }
    node.system().getWhenTerminated().toCompletableFuture().join();
  }
}
