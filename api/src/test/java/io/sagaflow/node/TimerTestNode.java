package io.sagaflow.node;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.IntStream;

/**
 * A node in its own JVM for {@link DurableTimersCrashIT}: {@code TimerTestNode <participantsUrl>
 * [sagasToStart]}. Its sagas' one step is retried after a backoff of {@link #BACKOFF}, long enough
 * to leave memory (durable-from is 2 s); the periodic recovery sweep is an hour away. Prints {@code
 * UP} once the node runs and {@code STARTED n} once n starts are acknowledged, then runs until
 * killed.
 */
public final class TimerTestNode {
  static final Duration BACKOFF = Duration.ofSeconds(20);

  static final SagaDefinition<?> PARKED =
      SagaDefinition.builder("parked")
          .step(
              Step.named("work")
                  .invoke(HttpCall.post("payments", "/work").withBody(ctx -> ctx.input()))
                  .noCompensation()
                  .retry(r -> r.maxAttempts(3).minBackoff(BACKOFF).maxBackoff(BACKOFF).jitter(0)))
          .build();

  private TimerTestNode() {}

  public static void main(String[] args) {
    try {
      run(args);
    } catch (Throwable e) {
      e.printStackTrace();
      System.exit(1);
    }
  }

  private static void run(String[] args) {
    int sagas = args.length > 1 ? Integer.parseInt(args[1]) : 0;
    var config =
        ConfigFactory.parseMap(
            Map.of(
                "pekko.remote.artery.canonical.port",
                0,
                "sagaflow.http.port",
                0,
                "pekko.management.http.port",
                0,
                "sagaflow.engine.ask-timeout",
                "20s",
                "sagaflow.recovery.sweep-interval",
                "1h",
                "sagaflow.timers.durable-from",
                "2s",
                "sagaflow.participants.payments.url",
                args[0]));
    var node = SagaflowNode.start(config, List.of(PARKED));
    System.out.println("UP");
    System.out.flush();
    if (sagas > 0) {
      var json = new ObjectMapper();
      CompletableFuture.allOf(
              IntStream.range(0, sagas)
                  .mapToObj(
                      i ->
                          node.engine()
                              .start(
                                  "parked-" + i,
                                  "parked",
                                  null,
                                  json.createObjectNode().put("n", i))
                              .toCompletableFuture())
                  .toArray(CompletableFuture[]::new))
          .join();
      System.out.println("STARTED " + sagas);
      System.out.flush();
    }
    node.system().getWhenTerminated().toCompletableFuture().join();
  }
}
