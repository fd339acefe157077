package io.sagaflow.orchestrator.testing;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.sagaflow.orchestrator.dsl.LocalCall;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * Local step actions whose every invocation is recorded and left pending until the test completes
 * it, so entity tests decide each attempt's outcome and its timing.
 */
public final class ScriptedSteps {

  /** One invocation of a scripted action. */
  public record Call(
      String sagaId,
      String step,
      boolean compensation,
      int attempt,
      Instant at,
      CompletableFuture<Object> result) {

    public void succeed() {
      result.complete(
          JsonNodeFactory.instance.objectNode().put("step", step).put("attempt", attempt));
    }

    public void fail(RuntimeException e) {
      result.completeExceptionally(e);
    }
  }

  private final List<Call> calls = new CopyOnWriteArrayList<>();

  public LocalCall<Object> action(String step) {
    return LocalCall.of(ctx -> record(ctx.sagaId(), step, false, ctx.attempt()));
  }

  public LocalCall<Object> compensation(String step) {
    return LocalCall.of(ctx -> record(ctx.sagaId(), step, true, ctx.attempt()));
  }

  /**
   * A fan-out's action, recorded under its element's name ({@code {step}/{key}}); it checks that
   * its element is the one its key names (the elements are JSON strings, their own keys).
   */
  public LocalCall<Object> elementAction() {
    return LocalCall.of(
        ctx -> {
          com.fasterxml.jackson.databind.JsonNode element = ctx.element();
          if (!element.asText().equals(ctx.elementKey())) {
            throw new AssertionError("element " + element + " under key " + ctx.elementKey());
          }
          return record(ctx.sagaId(), ctx.step(), false, ctx.attempt());
        });
  }

  /** A fan-out's compensation, recorded under its element's name. */
  public LocalCall<Object> elementCompensation() {
    return LocalCall.of(ctx -> record(ctx.sagaId(), ctx.step(), true, ctx.attempt()));
  }

  private CompletableFuture<Object> record(
      String sagaId, String step, boolean compensation, int attempt) {
    var call =
        new Call(sagaId, step, compensation, attempt, Instant.now(), new CompletableFuture<>());
    calls.add(call);
    return call.result();
  }

  public List<Call> calls() {
    return List.copyOf(calls);
  }

  /** Waits for the n-th (1-based) invocation matching the predicate. */
  public Call await(Predicate<Call> which, int n, Duration deadline) {
    return Eventually.await(
        "invocation #" + n + " (calls so far: " + describe() + ")",
        deadline,
        () -> {
          List<Call> matching = calls.stream().filter(which).toList();
          return matching.size() >= n ? matching.get(n - 1) : null;
        });
  }

  public Call awaitAction(String step, int attempt) {
    return await(
        c -> !c.compensation() && c.step().equals(step) && c.attempt() == attempt,
        1,
        Duration.ofSeconds(10));
  }

  public Call awaitCompensation(String step, int attempt) {
    return await(
        c -> c.compensation() && c.step().equals(step) && c.attempt() == attempt,
        1,
        Duration.ofSeconds(10));
  }

  public long count(Predicate<Call> which) {
    return calls.stream().filter(which).count();
  }

  public List<String> describe() {
    return calls.stream()
        .map(c -> (c.compensation() ? "undo " : "") + c.step() + "#" + c.attempt())
        .toList();
  }
}
