package io.sagaflow.testkit;

import io.sagaflow.orchestrator.history.Phase;
import io.sagaflow.orchestrator.internal.Outcome;
import io.sagaflow.orchestrator.internal.ParticipantClient;
import io.sagaflow.orchestrator.internal.ParticipantRequest;
import java.time.Clock;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * The participants of one scenario: each call to a step (or to its compensation) gets the next of
 * the answers scripted for it, the last one repeating; a step nobody scripted answers 200 {@code
 * {}}. Every call is written to the scenario's {@link CallLog}.
 */
final class ScriptedParticipants implements ParticipantClient {

  /** Whose answers: a step's action, or its compensation. */
  record Target(Phase phase, String step) {}

  private final String sagaId;
  private final Map<Target, List<Answer>> script;
  private final Map<Target, Integer> callsSoFar = new HashMap<>();
  private final CallLog log;
  private final Clock clock;

  ScriptedParticipants(String sagaId, Map<Target, List<Answer>> script, CallLog log, Clock clock) {
    this.sagaId = sagaId;
    this.script = Map.copyOf(script);
    this.log = log;
    this.clock = clock;
  }

  @Override
  public synchronized CompletionStage<Outcome> call(ParticipantRequest request) {
    Map<String, String> headers = request.headers();
    String step = headers.get("Saga-Step");
    // The participant contract tells the two apart by the idempotency key alone.
    Phase phase =
        (sagaId + "/" + step + "/compensation").equals(headers.get("Idempotency-Key"))
            ? Phase.COMPENSATION
            : Phase.FORWARD;
    Target target = new Target(phase, step);
    int call = callsSoFar.merge(target, 1, Integer::sum);
    Answer answer = answer(target, call);
    Instant at = clock.instant();
    String method = request.method().toUpperCase(Locale.ROOT);
    log.called(
        new RecordedCall(
            phase,
            step,
            Integer.parseInt(headers.get("Saga-Attempt")),
            at,
            request.participant(),
            method,
            request.path(),
            request.body(),
            headers,
            answer.toString()),
        answer.answers() ? null : at.plus(request.timeout()));
    if (!answer.answers()) {
      return new CompletableFuture<>();
    }
    return CompletableFuture.completedFuture(
        answer.outcome(request.participant() + " " + method + " " + pathOnly(request.path())));
  }

  /** The answer to the {@code call}-th call (from 1) to {@code target}. */
  private Answer answer(Target target, int call) {
    List<Answer> answers = script.get(target);
    int slash = target.step().indexOf('/');
    if (answers == null && slash > 0) {
      // An element of a fan-out ({step}/{key}) gets its step's answers, counted per element.
      answers = script.get(new Target(target.phase(), target.step().substring(0, slash)));
    }
    if (answers == null) {
      return Answer.ok();
    }
    return answers.get(Math.min(call, answers.size()) - 1);
  }

  private static String pathOnly(String path) {
    int query = path.indexOf('?');
    return query < 0 ? path : path.substring(0, query);
  }
}
