package io.sagaflow.chaos.participant;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.sagaflow.chaos.format.Jsonl;
import io.sagaflow.chaos.format.LedgerEntry;
import io.sagaflow.chaos.format.LedgerEntry.Effect;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Clock;
import java.util.Optional;
import java.util.SplittableRandom;

/**
 * Serves alpha, beta and gamma on one port: each delivery gets the fault the seeded mix chose for
 * it, is applied (or not) by {@link Effects}, and is written to the ledger as one line. Also the
 * runner's control endpoints, {@code POST /control/storm?seconds=N} and {@code GET /control/stats}.
 */
public final class ParticipantHandler implements HttpHandler {

  private final ParticipantOptions options;
  private final Jsonl.Writer ledger;
  private final Clock clock;
  private final Effects effects;
  private final ParticipantStats stats = new ParticipantStats();

  public ParticipantHandler(ParticipantOptions options, Jsonl.Writer ledger, Clock clock) {
    this.options = options;
    this.ledger = ledger;
    this.clock = clock;
    this.effects = new Effects(options.dedup(), options.skipCompensationEvery());
  }

  public ParticipantStats stats() {
    return stats;
  }

  @Override
  public void handle(HttpExchange exchange) throws IOException {
    try (exchange) {
      exchange.getRequestBody().readAllBytes();
      String path = exchange.getRequestURI().getPath();
      String method = exchange.getRequestMethod();
      if (method.equals("POST") && path.equals("/control/storm")) {
        storm(exchange);
      } else if (method.equals("GET") && path.equals("/control/stats")) {
        respond(exchange, new Answer(200, stats.json(clock.millis())));
      } else {
        Optional<Target> target =
            method.equals("POST")
                ? Target.of(
                    path,
                    exchange.getRequestHeaders().getFirst("Idempotency-Key"),
                    exchange.getRequestHeaders().getFirst("Saga-Attempt"))
                : Optional.empty();
        if (target.isPresent()) {
          deliver(exchange, target.get());
        } else {
          respond(exchange, Answer.error(404, "not a chaos participant call"));
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void storm(HttpExchange exchange) throws IOException {
    String query = exchange.getRequestURI().getQuery();
    long seconds;
    try {
      seconds = Long.parseLong(query == null ? "" : query.replaceFirst("^seconds=", ""));
    } catch (NumberFormatException e) {
      respond(exchange, Answer.error(400, "expected ?seconds=N"));
      return;
    }
    stats.stormUntil(clock.millis() + seconds * 1000);
    respond(exchange, new Answer(200, stats.json(clock.millis())));
  }

  private void deliver(HttpExchange exchange, Target target)
      throws IOException, InterruptedException {
    long received = clock.millis();
    int delivery = effects.nextDelivery(target);
    if (stats.storming(received)) {
      finish(exchange, target, received, delivery, "storm", Effect.ERROR, storm503());
      return;
    }
    if (options.mix().rejects(options.seed(), target.key(), target.call())) {
      Answer rejected = Answer.error(422, "rejected by the chaos mix");
      finish(exchange, target, received, delivery, "reject", Effect.REJECTED, rejected);
      return;
    }
    Fault fault = options.mix().choose(options.seed(), target.key(), delivery);
    SplittableRandom timing = FaultMix.random(options.seed(), target.key() + "#timing", delivery);
    switch (fault) {
      case ERROR_BEFORE -> {
        Answer error = Answer.error(503, "injected error before applying");
        finish(exchange, target, received, delivery, fault.label(), Effect.ERROR, error);
      }
      case SLOW -> {
        Thread.sleep(timing.nextLong(100, 801));
        applyAndAnswer(exchange, target, received, delivery, fault);
      }
      case DUPLICATE -> {
        Effects.Applied first = effects.apply(target, Fault.NONE);
        record(
            target,
            received,
            delivery,
            first.skipped() ? "skipped" : fault.label(),
            first.effect(),
            0);
        applyAndAnswer(exchange, target, clock.millis(), effects.nextDelivery(target), Fault.NONE);
      }
      default -> applyAndAnswer(exchange, target, received, delivery, fault);
    }
  }

  private void applyAndAnswer(
      HttpExchange exchange, Target target, long received, int delivery, Fault fault)
      throws IOException, InterruptedException {
    Effects.Applied applied = effects.apply(target, fault);
    String label = applied.skipped() ? "skipped" : fault.label();
    if (fault == Fault.LOST_AFTER) {
      // Closing the exchange before any response header closes the connection: no answer at all.
      record(target, received, delivery, label, applied.effect(), 0);
      return;
    }
    if (fault == Fault.DELAYED_AFTER) {
      SplittableRandom timing = FaultMix.random(options.seed(), target.key() + "#timing", delivery);
      Thread.sleep(timing.nextLong(2500, 4001));
    }
    finish(exchange, target, received, delivery, label, applied.effect(), applied.answer());
  }

  /** Writes the ledger line, then answers: an answer the engine got always has its line. */
  private void finish(
      HttpExchange exchange,
      Target target,
      long received,
      int delivery,
      String fault,
      Effect effect,
      Answer answer)
      throws IOException {
    record(target, received, delivery, fault, effect, answer.status());
    respond(exchange, answer);
  }

  private void record(
      Target target, long received, int delivery, String fault, Effect effect, int http) {
    stats.counted(effect);
    ledger.write(
        new LedgerEntry(
            received,
            clock.millis(),
            target.participant(),
            target.sagaId(),
            target.step(),
            target.call(),
            target.key(),
            delivery,
            fault,
            effect,
            http,
            target.attempt()));
  }

  private static Answer storm503() {
    return Answer.error(503, "storm: every participant is down");
  }

  private static void respond(HttpExchange exchange, Answer answer) throws IOException {
    exchange.getResponseHeaders().set("Content-Type", "application/json");
    exchange.sendResponseHeaders(answer.status(), answer.body().length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(answer.body());
    }
  }
}
