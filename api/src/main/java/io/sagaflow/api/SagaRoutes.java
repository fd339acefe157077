package io.sagaflow.api;

import static org.apache.pekko.http.javadsl.server.PathMatchers.segment;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.MeterRegistry;
import io.sagaflow.orchestrator.SagaEngine;
import io.sagaflow.orchestrator.SagaRegistry;
import io.sagaflow.orchestrator.SagaReplies;
import io.sagaflow.orchestrator.dsl.AwaitSignal;
import io.sagaflow.persistence.events.LifecycleEvents;
import io.sagaflow.persistence.index.SagaIndex;
import io.sagaflow.persistence.webhooks.SubscriptionStore;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.pekko.Done;
import org.apache.pekko.http.javadsl.marshalling.sse.EventStreamMarshalling;
import org.apache.pekko.http.javadsl.model.ContentType;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharsets;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The HTTP API v1: start, read, list, cancel and retry sagas, and describe saga types. Every error
 * is an RFC 9457 problem; a start is answered only once {@code SagaStarted} is written. Also the
 * lifecycle event stream ({@code /v1/events}) and webhook subscriptions. Beside it, open without a
 * token: this document ({@code /openapi.yaml}) and the node's metrics ({@code /metrics}).
 */
public final class SagaRoutes extends AllDirectives {
  private final SagaEngine engine;
  private final SagaRegistry registry;
  private final SagaIndex index;
  private final SagaReads reads;
  private final Executor blockingExecutor;
  private final JsonResponses responses;
  private final EngineAnswers answers;
  private final ExceptionProblems failures;
  private final RejectionProblems rejections;
  private final BearerAuth auth;
  private final WebUi ui;
  private final StrictJsonBody jsonBody;
  private final Supplier<String> metrics;
  private final LifecycleEvents events;
  private final EventStream eventStream;
  private final SubscriptionRoutes subscriptions;

  /**
   * @param events the journal's lifecycle events, for {@code GET /v1/events}
   * @param subscriptions the webhook subscriptions, for {@code /v1/subscriptions}
   * @param allowList the URLs a subscription may target
   * @param meters where the event stream's meters go
   */
  public SagaRoutes(
      SagaEngine engine,
      SagaRegistry registry,
      SagaIndex index,
      SagaReads reads,
      ApiSettings settings,
      Supplier<Duration> retryAfter,
      ObjectMapper mapper,
      Executor blockingExecutor,
      Supplier<String> metrics,
      LifecycleEvents events,
      EventStreamSettings eventSettings,
      SubscriptionStore subscriptions,
      UrlAllowList allowList,
      MeterRegistry meters) {
    this.engine = engine;
    this.registry = registry;
    this.index = index;
    this.reads = reads;
    this.blockingExecutor = blockingExecutor;
    this.responses = new JsonResponses(mapper);
    this.answers = new EngineAnswers(responses);
    this.failures = new ExceptionProblems(responses, settings, retryAfter);
    this.rejections = new RejectionProblems(responses);
    this.auth = new BearerAuth(settings, responses);
    this.ui = new WebUi();
    this.jsonBody = new StrictJsonBody(mapper, settings, responses);
    this.metrics = metrics;
    this.eventStream = new EventStream(events, eventSettings, mapper, meters);
    this.events = events;
    this.subscriptions =
        new SubscriptionRoutes(subscriptions, allowList, responses, jsonBody, blockingExecutor);
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
                        ui.routes(),
                        path(
                            "openapi.yaml",
                            () -> get(() -> getFromResource("openapi.yaml", yaml()))),
                        path("metrics", () -> get(this::metrics)),
                        pathPrefix("v1", () -> auth.authenticated(this::v1)))));
  }

  private Route v1() {
    return concat(
        pathPrefix(
            "sagas",
            () ->
                concat(
                    pathEnd(
                        () -> concat(post(() -> noQuery(this::startSaga)), get(this::listSagas))),
                    pathPrefix(
                        segment(),
                        id ->
                            concat(
                                pathEnd(() -> get(() -> noQuery(() -> read(id, reads::saga)))),
                                path(
                                    "events",
                                    () -> get(() -> noQuery(() -> read(id, reads::events)))),
                                path("cancel", () -> post(() -> noQuery(() -> cancel(id)))),
                                path("retry", () -> post(() -> noQuery(() -> retry(id)))),
                                pathPrefix(
                                    "signals",
                                    () ->
                                        path(
                                            segment(),
                                            name ->
                                                post(() -> noQuery(() -> signal(id, name))))))))),
        path("events", () -> get(this::streamEvents)),
        pathPrefix(
            "subscriptions",
            () ->
                concat(
                    pathEnd(
                        () ->
                            concat(
                                post(() -> noQuery(subscriptions::create)),
                                get(() -> noQuery(subscriptions::list)))),
                    pathPrefix(
                        segment(),
                        id ->
                            concat(
                                pathEnd(
                                    () ->
                                        concat(
                                            get(() -> noQuery(() -> subscriptions.read(id))),
                                            delete(() -> noQuery(() -> subscriptions.delete(id))))),
                                path(
                                    "resume",
                                    () -> post(() -> noQuery(() -> subscriptions.resume(id)))))))),
        pathPrefix(
            "saga-types",
            () ->
                concat(
                    pathEnd(() -> get(() -> noQuery(this::listTypes))),
                    path(
                        segment(),
                        type -> pathEnd(() -> get(() -> noQuery(() -> describeType(type))))))));
  }

  // ---- sagas ----------------------------------------------------------------------------------

  private Route startSaga() {
    return jsonBody.read(
        true,
        body ->
            optionalHeaderValueByName(
                "Idempotency-Key",
                key ->
                    optionalHeaderValueByName(
                        "traceparent",
                        traceparent ->
                            refusable(
                                () ->
                                    start(StartRequest.parse(body, key, registry), traceparent)))));
  }

  /**
   * Starts the saga in the trace of {@code traceparent}, the request's W3C trace context (one that
   * is not valid is ignored, as W3C says, and the saga gets a new trace).
   */
  private Route start(StartRequest start, Optional<String> traceparent) {
    return completeWithFuture(
        engine
            .start(
                start.id(), start.type(), start.version(), start.input(), traceparent.orElse(null))
            .thenApply(answers::started)
            .exceptionally(
                e ->
                    failures.unknownOutcome(
                        e, "the start of saga '" + start.id() + "'", start.id(), start.type())));
  }

  /** Saga {@code id} read on the blocking dispatcher: 200 with what was found, else 404. */
  private Route read(String id, Function<String, Optional<?>> read) {
    if (!SagaIds.valid(id)) {
      return complete(notFound(id));
    }
    return completeWithFuture(
        blocking(
            () ->
                read.apply(id)
                    .<HttpResponse>map(body -> responses.ok(200, body))
                    .orElseGet(() -> notFound(id))));
  }

  private Route listSagas() {
    return parameterList(
        parameters -> refusable(() -> list(ListQuery.parse(parameters, Instant.now()))));
  }

  private Route list(ListQuery query) {
    return completeWithFuture(
        blocking(
            () -> {
              try {
                return responses.ok(200, SagaPage.of(query.read(index)));
              } catch (InvalidRequest e) {
                return responses.problem(e.problem());
              }
            }));
  }

  private Route cancel(String id) {
    return jsonBody.read(
        false,
        body ->
            optionalHeaderValueByName(
                "Idempotency-Key",
                key ->
                    refusable(
                        () -> {
                          String reason = CancelRequest.parse(body).reason();
                          return command(
                              id, key, commandId -> engine.cancel(id, commandId, reason));
                        })));
  }

  /**
   * {@code POST /v1/sagas/{id}/signals/{name}}: the body (any JSON value; none is JSON null) is the
   * signal's payload; the {@code Idempotency-Key} is its command id.
   */
  private Route signal(String id, String name) {
    return jsonBody.read(
        false,
        body ->
            optionalHeaderValueByName(
                "Idempotency-Key",
                key ->
                    refusable(
                        () -> {
                          if (!AwaitSignal.NAME.matcher(name).matches()) {
                            throw new InvalidRequest(
                                Problem.unprocessable(
                                    "unknown-signal",
                                    "Unknown signal",
                                    "a signal's name is 1-100 letters, digits, '.', '_' or '-'",
                                    "name"));
                          }
                          return command(
                              id, key, commandId -> engine.signal(id, name, commandId, body));
                        })));
  }

  private Route retry(String id) {
    return optionalHeaderValueByName(
        "Idempotency-Key",
        key -> refusable(() -> command(id, key, commandId -> engine.resume(id, commandId))));
  }

  /** An operator command; an unknown id is answered 404 without waking an entity for it. */
  private Route command(
      String id,
      Optional<String> key,
      Function<String, CompletionStage<SagaReplies.OperatorReply>> send)
      throws InvalidRequest {
    String commandId =
        key.isPresent() ? SagaIds.checkIdempotencyKey(key.get()) : UUID.randomUUID().toString();
    if (!SagaIds.valid(id)) {
      return complete(notFound(id));
    }
    return completeWithFuture(
        blocking(() -> reads.exists(id))
            .thenCompose(
                exists ->
                    exists
                        ? send.apply(commandId)
                            .thenApply(reply -> answers.commanded(id, reply))
                            .exceptionally(
                                e ->
                                    failures.unknownOutcome(
                                        e, "the command to saga '" + id + "'", id, null))
                        : CompletableFuture.completedFuture(notFound(id))));
  }

  /**
   * Ends the event streams this node serves (at shutdown, before requests in flight are awaited).
   */
  public CompletionStage<Done> endEventStreams() {
    return eventStream.endAll(Duration.ofSeconds(2));
  }

  // ---- lifecycle events ---------------------------------------------------------------------

  /**
   * Server-Sent Events from the journal: after {@code Last-Event-ID} (or {@code after}), else from
   * the newest event on.
   */
  private Route streamEvents() {
    return parameterList(
        parameters ->
            optionalHeaderValueByName(
                "Last-Event-ID",
                lastEventId ->
                    refusable(
                        () -> {
                          EventQuery query = EventQuery.parse(parameters, lastEventId);
                          CompletionStage<Long> after =
                              query.after().isPresent()
                                  ? CompletableFuture.completedFuture(query.after().getAsLong())
                                  : events.latestOffset();
                          return onSuccess(
                              after,
                              offset ->
                                  completeOK(
                                      eventStream.after(offset, query.filter()),
                                      EventStreamMarshalling.toEventStream()));
                        })));
  }

  // ---- saga types -----------------------------------------------------------------------------

  private Route listTypes() {
    return complete(responses.ok(200, SagaTypeList.of(registry)));
  }

  private Route describeType(String type) {
    if (registry.versions(type).isEmpty()) {
      return complete(responses.problem(Problem.notFound("no saga type '" + type + "'")));
    }
    return complete(responses.ok(200, SagaTypeBody.of(type, registry.versions(type))));
  }

  // ---- plumbing -------------------------------------------------------------------------------

  /** A route that reads the request first; the problem when the request is refused. */
  @FunctionalInterface
  private interface Refusable {
    Route route() throws InvalidRequest;
  }

  private Route refusable(Refusable refusable) {
    try {
      return refusable.route();
    } catch (InvalidRequest e) {
      return complete(responses.problem(e.problem()));
    }
  }

  /** An operation that takes no query parameters refuses any, as the list refuses unknown ones. */
  private Route noQuery(Supplier<Route> inner) {
    return parameterList(
        parameters ->
            refusable(
                () -> {
                  QueryParameters.check(parameters, List.of());
                  return inner.get();
                }));
  }

  private HttpResponse notFound(String id) {
    return responses.problem(SagaIds.notFound(id));
  }

  /** The node's metrics, rendered on the blocking dispatcher (every meter is read). */
  private Route metrics() {
    return completeWithFuture(
        blocking(
            () ->
                HttpResponse.create()
                    .withEntity(HttpEntities.create(PROMETHEUS_TEXT, metrics.get()))));
  }

  /** Prometheus' text exposition format, version 0.0.4. */
  private static final ContentType.WithCharset PROMETHEUS_TEXT =
      MediaTypes.customWithOpenCharset("text", "plain", Map.of("version", "0.0.4"), false)
          .toContentType(HttpCharsets.UTF_8);

  private static ContentType yaml() {
    return ContentTypes.create(MediaTypes.applicationWithOpenCharset("yaml"), HttpCharsets.UTF_8);
  }

  /** JDBC reads run on the blocking dispatcher, off the HTTP threads. */
  private <T> CompletionStage<T> blocking(Supplier<T> work) {
    return CompletableFuture.supplyAsync(work, blockingExecutor);
  }
}
