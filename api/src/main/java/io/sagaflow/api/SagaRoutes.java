package io.sagaflow.api;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sagaflow.orchestrator.SagaEngine;
import io.sagaflow.orchestrator.SagaRegistry;
import io.sagaflow.orchestrator.SagaReplies;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.SagaView;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.RetryPolicy;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepAction;
import io.sagaflow.persistence.SagaJournal;
import io.sagaflow.persistence.index.SagaIndex;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.headers.Location;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The HTTP API v1: start, read, list, cancel and retry sagas, and describe saga types. Every error
 * is an RFC 9457 problem; a start is answered only once {@code SagaStarted} is written.
 */
public final class SagaRoutes extends AllDirectives {
  /** Saga ids, from a body, a header or a path. */
  public static final Pattern SAGA_ID = Pattern.compile("[A-Za-z0-9._:-]{1,200}");

  private static final Set<String> START_FIELDS = Set.of("type", "id", "input", "version");

  private final SagaEngine engine;
  private final SagaRegistry registry;
  private final SagaIndex index;
  private final SagaJournal journal;
  private final ObjectMapper json;
  private final Executor blockingExecutor;
  private final JsonResponses responses;
  private final ExceptionProblems failures;
  private final RejectionProblems rejections;
  private final BearerAuth auth;
  private final StrictJsonBody jsonBody;

  public SagaRoutes(
      SagaEngine engine,
      SagaRegistry registry,
      SagaIndex index,
      SagaJournal journal,
      ApiSettings settings,
      ObjectMapper mapper,
      Executor blockingExecutor) {
    this.engine = engine;
    this.registry = registry;
    this.index = index;
    this.journal = journal;
    this.blockingExecutor = blockingExecutor;
    this.responses = new JsonResponses(mapper);
    this.failures = new ExceptionProblems(responses, settings);
    this.rejections = new RejectionProblems(responses);
    this.auth = new BearerAuth(settings, responses);
    this.jsonBody = new StrictJsonBody(mapper, settings, responses);
    this.json = mapper.copy();
  }

  /** Every route, with problem answers for rejections and failures. */
  public Route routes() {
    return handleExceptions(
        failures.handler(),
        () ->
            handleRejections(
                rejections.handler(),
                () ->
                    concat(
                        path(
                            "openapi.yaml",
                            () -> get(() -> getFromResource("openapi.yaml", yaml()))),
                        pathPrefix("v1", () -> auth.authenticated(this::v1)))));
  }

  private Route v1() {
    return concat(
        pathPrefix(
            "sagas",
            () ->
                concat(
                    pathEnd(() -> concat(post(this::startSaga), get(this::listSagas))),
                    pathPrefix(
                        segment(),
                        id ->
                            concat(
                                pathEnd(() -> get(() -> getSaga(id))),
                                path("events", () -> get(() -> events(id))),
                                path("cancel", () -> post(() -> cancel(id))),
                                path("retry", () -> post(() -> retry(id))))))),
        pathPrefix(
            "saga-types",
            () ->
                concat(
                    pathEnd(() -> get(this::listTypes)),
                    path(segment(), type -> pathEnd(() -> get(() -> describeType(type)))))));
  }

  // ---- sagas ----------------------------------------------------------------------------------

  private Route startSaga() {
    return jsonBody.read(
        true,
        body ->
            headerValueByNameOrEmpty(
                "Idempotency-Key", key -> completeWithFuture(start(body, key))));
  }

  private CompletionStage<HttpResponse> start(JsonNode body, Optional<String> headerKey) {
    if (!body.isObject()) {
      return done(responses.problem(Problem.badRequest("the body must be a JSON object", null)));
    }
    for (Iterator<String> it = body.fieldNames(); it.hasNext(); ) {
      String field = it.next();
      if (!START_FIELDS.contains(field)) {
        return done(
            responses.problem(
                Problem.badRequest(
                    "unknown field '" + clip(field) + "'; expected " + START_FIELDS, clip(field))));
      }
    }
    JsonNode type = body.get("type");
    if (type == null || !type.isTextual() || type.asText().isBlank()) {
      return done(
          responses.problem(Problem.badRequest("'type' must be a non-empty string", "type")));
    }
    JsonNode input = body.get("input");
    if (input == null || !input.isObject()) {
      return done(responses.problem(Problem.badRequest("'input' must be a JSON object", "input")));
    }
    JsonNode versionNode = body.get("version");
    Integer version = null;
    if (versionNode != null && !versionNode.isNull()) {
      if (!versionNode.isIntegralNumber()
          || !versionNode.canConvertToInt()
          || versionNode.asInt() < 1) {
        return done(
            responses.problem(
                Problem.badRequest("'version' must be a positive integer", "version")));
      }
      version = versionNode.asInt();
    }
    JsonNode idNode = body.get("id");
    String id;
    if (idNode != null && !idNode.isNull()) {
      if (!idNode.isTextual() || !SAGA_ID.matcher(idNode.asText()).matches()) {
        return done(
            responses.problem(Problem.badRequest("'id' must match " + SAGA_ID.pattern(), "id")));
      }
      id = idNode.asText();
      if (headerKey.isPresent() && !headerKey.get().equals(id)) {
        return done(
            responses.problem(
                Problem.badRequest(
                    "the Idempotency-Key header and the body's 'id' differ; send one, or the same",
                    "Idempotency-Key")));
      }
    } else if (headerKey.isPresent()) {
      if (!SAGA_ID.matcher(headerKey.get()).matches()) {
        return done(
            responses.problem(
                Problem.badRequest(
                    "the Idempotency-Key header must match " + SAGA_ID.pattern(),
                    "Idempotency-Key")));
      }
      id = headerKey.get();
    } else {
      id = UUID.randomUUID().toString();
    }
    // Checked here, before the saga's entity is asked, so that a rejected start leaves nothing.
    Optional<SagaReplies.Invalid> invalid = registry.checkStart(type.asText(), version, input);
    if (invalid.isPresent()) {
      return done(startAnswer(invalid.get()));
    }
    return engine
        .start(id, type.asText(), version, input)
        .thenApply(this::startAnswer)
        .exceptionally(e -> failures.unknownOutcome(e, "the start of saga '" + id + "'"));
  }

  private HttpResponse startAnswer(SagaReplies.StartReply reply) {
    if (reply instanceof SagaReplies.Accepted accepted) {
      HttpResponse response = responses.ok(accepted.created() ? 201 : 200, accepted.saga());
      String location = "/v1/sagas/" + accepted.saga().id();
      return accepted.created()
          ? response.addHeader(Location.create(location))
          : response
              .addHeader(Location.create(location))
              .addHeader(RawHeader.create("Idempotent-Replayed", "true"));
    }
    if (reply instanceof SagaReplies.Conflict conflict) {
      return responses.problem(Problem.conflict(conflict.detail()));
    }
    return responses.problem(Problem.refusedStart((SagaReplies.Invalid) reply));
  }

  private Route getSaga(String id) {
    if (!SAGA_ID.matcher(id).matches()) {
      return complete(sagaNotFound(id));
    }
    return completeWithFuture(
        blocking(
            () ->
                journal
                    .state(id)
                    .map(
                        state ->
                            responses.ok(
                                200,
                                SagaView.of(
                                    id, state, registry.find(state.type(), state.version()))))
                    .orElseGet(() -> sagaNotFound(id))));
  }

  private Route events(String id) {
    if (!SAGA_ID.matcher(id).matches()) {
      return complete(sagaNotFound(id));
    }
    return completeWithFuture(
        blocking(
            () -> {
              var events = journal.events(id);
              if (events.isEmpty()) {
                return sagaNotFound(id);
              }
              ObjectNode body = json.createObjectNode().put("id", id);
              ArrayNode items = body.putArray("events");
              for (var e : events) {
                items
                    .addObject()
                    .put("sequenceNr", e.sequenceNr())
                    .put("type", e.type())
                    .put("writtenAt", e.writtenAt().toString())
                    .set("data", e.payload());
              }
              return responses.ok(200, body);
            }));
  }

  private Route listSagas() {
    return parameterOptional(
        "type",
        type ->
            parameterOptional(
                "status",
                status ->
                    parameterOptional(
                        "limit",
                        limit ->
                            parameterOptional(
                                "cursor",
                                cursor -> completeWithFuture(list(type, status, limit, cursor))))));
  }

  private CompletionStage<HttpResponse> list(
      Optional<String> type,
      Optional<String> status,
      Optional<String> limit,
      Optional<String> cursor) {
    Optional<SagaStatus> parsedStatus;
    try {
      parsedStatus = status.map(s -> SagaStatus.valueOf(s.toUpperCase(Locale.ROOT)));
    } catch (IllegalArgumentException e) {
      return done(
          responses.problem(
              Problem.badRequest(
                  "'status' must be one of " + List.of(SagaStatus.values()), "status")));
    }
    int size;
    try {
      size = limit.map(Integer::parseInt).orElse(50);
    } catch (NumberFormatException e) {
      return done(
          responses.problem(
              Problem.badRequest(
                  "'limit' must be an integer from 1 to " + SagaIndex.MAX_LIMIT, "limit")));
    }
    if (size < 1 || size > SagaIndex.MAX_LIMIT) {
      return done(
          responses.problem(
              Problem.badRequest(
                  "'limit' must be an integer from 1 to " + SagaIndex.MAX_LIMIT, "limit")));
    }
    return blocking(
        () -> {
          SagaIndex.Page page;
          try {
            page = index.list(type, parsedStatus, size, cursor);
          } catch (IllegalArgumentException e) {
            return responses.problem(
                Problem.badRequest("'cursor' is not a cursor this API returned", "cursor"));
          }
          ObjectNode body = json.createObjectNode();
          ArrayNode items = body.putArray("items");
          for (SagaIndex.Row row : page.items()) {
            ObjectNode item =
                items
                    .addObject()
                    .put("id", row.sagaId())
                    .put("type", row.type())
                    .put("version", row.version())
                    .put("status", row.status().name())
                    .put("createdAt", row.createdAt().toString())
                    .put("updatedAt", row.updatedAt().toString());
            if (row.failure() != null) {
              item.put("failure", row.failure());
            }
          }
          page.nextCursor()
              .ifPresentOrElse(c -> body.put("nextCursor", c), () -> body.putNull("nextCursor"));
          return responses.ok(200, body);
        });
  }

  private Route cancel(String id) {
    return jsonBody.read(
        false,
        body ->
            headerValueByNameOrEmpty(
                "Idempotency-Key",
                key -> {
                  JsonNode reason = body == null ? null : body.get("reason");
                  if (body != null && !body.isObject()) {
                    return complete(
                        responses.problem(
                            Problem.badRequest("the body must be a JSON object", null)));
                  }
                  if (reason != null && !reason.isNull() && !reason.isTextual()) {
                    return complete(
                        responses.problem(
                            Problem.badRequest("'reason' must be a string", "reason")));
                  }
                  String text = reason == null || reason.isNull() ? "" : reason.asText();
                  return operatorCommand(id, key, commandId -> engine.cancel(id, commandId, text));
                }));
  }

  private Route retry(String id) {
    return headerValueByNameOrEmpty(
        "Idempotency-Key",
        key -> operatorCommand(id, key, commandId -> engine.resume(id, commandId)));
  }

  private Route operatorCommand(
      String id,
      Optional<String> key,
      java.util.function.Function<String, CompletionStage<SagaReplies.OperatorReply>> send) {
    if (key.isPresent() && !SAGA_ID.matcher(key.get()).matches()) {
      return complete(
          responses.problem(
              Problem.badRequest(
                  "the Idempotency-Key header must match " + SAGA_ID.pattern(),
                  "Idempotency-Key")));
    }
    if (!SAGA_ID.matcher(id).matches()) {
      return complete(sagaNotFound(id));
    }
    String commandId = key.orElseGet(() -> UUID.randomUUID().toString());
    return completeWithFuture(
        blocking(() -> journal.events(id).isEmpty())
            .thenCompose(
                missing ->
                    missing
                        ? done(sagaNotFound(id))
                        : send.apply(commandId)
                            .thenApply(
                                reply -> {
                                  if (reply instanceof SagaReplies.Done d) {
                                    return responses.ok(202, d.saga());
                                  }
                                  if (reply instanceof SagaReplies.Refused r) {
                                    return responses.problem(Problem.conflict(r.detail()));
                                  }
                                  return sagaNotFound(id);
                                })
                            .exceptionally(
                                e ->
                                    failures.unknownOutcome(
                                        e, "the command to saga '" + id + "'"))));
  }

  /** A path id that no saga can have is not looked up (NUL, for one, would fail the query). */
  private HttpResponse sagaNotFound(String id) {
    return responses.problem(
        Problem.notFound(
            SAGA_ID.matcher(id).matches()
                ? "no saga with id '" + id + "'"
                : "no saga has this id: saga ids match " + SAGA_ID.pattern()));
  }

  /** A client's string in a problem, cut short: an answer must not echo a huge request back. */
  private static String clip(String text) {
    return text.length() <= 64 ? text : text.substring(0, 64) + "…";
  }

  // ---- saga types -----------------------------------------------------------------------------

  private Route listTypes() {
    ObjectNode body = json.createObjectNode();
    ArrayNode items = body.putArray("items");
    for (String type : registry.types()) {
      ObjectNode item = items.addObject().put("type", type);
      ArrayNode versions = item.putArray("versions");
      registry.versions(type).forEach(d -> versions.add(d.version()));
      item.put("latestVersion", registry.find(type, null).orElseThrow().version());
    }
    return complete(responses.ok(200, body));
  }

  private Route describeType(String type) {
    if (registry.versions(type).isEmpty()) {
      return complete(responses.problem(Problem.notFound("no saga type '" + type + "'")));
    }
    ObjectNode body = json.createObjectNode().put("type", type);
    ArrayNode versions = body.putArray("versions");
    for (SagaDefinition d : registry.versions(type)) {
      ObjectNode version = versions.addObject().put("version", d.version());
      version.put("inputType", d.inputType().getSimpleName());
      d.deadline()
          .ifPresentOrElse(
              dl -> version.put("deadline", dl.toString()), () -> version.putNull("deadline"));
      ArrayNode steps = version.putArray("steps");
      for (Step s : d.steps()) {
        ObjectNode step = steps.addObject().put("name", s.name()).put("kind", s.kind().name());
        step.set("action", describe(s.action()));
        s.compensation()
            .ifPresentOrElse(
                c -> step.set("compensation", describe(c)), () -> step.putNull("compensation"));
        step.set("retry", describe(s.retry()));
        step.set("compensationRetry", s.hasCompensation() ? describe(s.compensationRetry()) : null);
        step.put("timeout", s.timeout().toString());
      }
    }
    return complete(responses.ok(200, body));
  }

  private ObjectNode describe(StepAction action) {
    if (action instanceof HttpCall http) {
      return json.createObjectNode()
          .put("kind", "http")
          .put("participant", http.participant())
          .put("method", http.method());
    }
    return json.createObjectNode().put("kind", "local");
  }

  private ObjectNode describe(RetryPolicy policy) {
    ObjectNode node = json.createObjectNode();
    if (policy.unlimited()) {
      node.putNull("maxAttempts");
    } else {
      node.put("maxAttempts", policy.maxAttempts());
    }
    return node.put("minBackoff", policy.minBackoff().toString())
        .put("maxBackoff", policy.maxBackoff().toString())
        .put("multiplier", policy.multiplier())
        .put("jitter", policy.jitter());
  }

  // ---- plumbing -------------------------------------------------------------------------------

  private Route headerValueByNameOrEmpty(
      String name, java.util.function.Function<Optional<String>, Route> inner) {
    return optionalHeaderValueByName(name, inner);
  }

  private static ContentType yaml() {
    return ContentTypes.create(MediaTypes.applicationWithOpenCharset("yaml"), HttpCharsets.UTF_8);
  }

  private static CompletionStage<HttpResponse> done(HttpResponse response) {
    return CompletableFuture.completedFuture(response);
  }

  /** JDBC reads run on the blocking dispatcher, off the HTTP threads. */
  private <T> CompletionStage<T> blocking(Supplier<T> work) {
    return CompletableFuture.supplyAsync(work, blockingExecutor);
  }
}
