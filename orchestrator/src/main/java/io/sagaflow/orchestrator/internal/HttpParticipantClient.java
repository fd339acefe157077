package io.sagaflow.orchestrator.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.fence.FencedException;
import io.sagaflow.orchestrator.fence.NodeFence;
import io.sagaflow.orchestrator.internal.Outcome.Permanent;
import io.sagaflow.orchestrator.internal.Outcome.Retryable;
import io.sagaflow.orchestrator.internal.Outcome.Unreadable;
import io.sagaflow.orchestrator.internal.ParticipantBreakers.Answer;
import io.sagaflow.orchestrator.telemetry.NodeMetrics;
import io.sagaflow.orchestrator.telemetry.SagaMdc;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.pekko.actor.Cancellable;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.event.LoggingAdapter;
import org.apache.pekko.http.javadsl.ClientTransport;
import org.apache.pekko.http.javadsl.Http;
import org.apache.pekko.http.javadsl.HttpsConnectionContext;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpCharset;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.HttpMethod;
import org.apache.pekko.http.javadsl.model.HttpMethods;
import org.apache.pekko.http.javadsl.model.HttpRequest;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.ResponseEntity;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.settings.ConnectionPoolSettings;
import org.apache.pekko.http.scaladsl.model.EntityStreamSizeException;
import org.apache.pekko.stream.BufferOverflowException;
import org.apache.pekko.stream.Materializer;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.util.ByteString;

/**
 * The {@link ParticipantClient} that calls participants over HTTP through pekko-http's pooled
 * client and classifies each reply by the failure rules.
 *
 * <p>Each answer is classified by {@link ParticipantAnswers}, the rule the test kit's scripted
 * participants follow too. A 2xx body over the size cap is {@link Unreadable} as well: the
 * participant applied the effect, but its output is lost. The request timeout bounds the whole
 * exchange, including waiting for a pooled connection and reading the body. Every response entity
 * is read or cancelled, even one that arrives after the timeout, so no pooled connection is left
 * waiting for a subscriber.
 *
 * <p>Connections come from a pool per participant host configured by {@code
 * sagaflow.participant-client.host-connection-pool}, laid over {@code
 * pekko.http.host-connection-pool}: it holds only what differs, and affects participant calls only.
 * Calls wait for a free connection in a {@link ConnectionGate} in front of the pool, never inside
 * it: a call whose deadline passes while it waits is never sent, and neither is one that would
 * leave while this node's {@link NodeFence} refuses. The fence is checked again on every chunk of
 * bytes written to a participant ({@link FencedTransport}), which covers the time a request spends
 * inside the pool.
 *
 * <p>Every participant has a circuit breaker of its own ({@link ParticipantBreakers}, configured by
 * {@code sagaflow.participant-client.circuit-breaker}): after enough failures in a row its calls
 * fail at once, without HTTP, until a trial call succeeds.
 */
public final class HttpParticipantClient implements ParticipantClient {

  /** The config section of this client. */
  public static final String CONFIG_PATH = "sagaflow.participant-client";

  static final String MAX_RESPONSE_BYTES_KEY = CONFIG_PATH + ".max-response-bytes";
  static final String POOL_KEY = CONFIG_PATH + ".host-connection-pool";

  // Set from the body, or meaningless on a request; pekko would drop them with a warning.
  private static final Set<String> IGNORED_HEADERS =
      Set.of("content-type", "content-length", "transfer-encoding");

  private static final ObjectMapper JSON = JsonMapper.builder().build();

  private final ActorSystem<?> system;
  private final ParticipantDirectory directory;
  private final long maxResponseBytes;
  private final Http http;
  private final HttpsConnectionContext httpsContext;
  private final ConnectionPoolSettings poolSettings;
  private final LoggingAdapter poolLog;
  private final Materializer materializer;
  private final ParticipantBreakers breakers;
  private final NodeFence fence;
  // One per participant origin, as pekko-http keeps one pool per host.
  private final Map<String, ConnectionGate> gates = new ConcurrentHashMap<>();

  private static final int WAITING = 0;
  private static final int SENT = 1;
  private static final int ABANDONED = 2;

  /**
   * @param maxResponseBytes the largest response body read; a larger 2xx body is {@link Unreadable}
   */
  public HttpParticipantClient(
      ActorSystem<?> system, ParticipantDirectory directory, long maxResponseBytes) {
    this(
        system,
        directory,
        maxResponseBytes,
        ParticipantBreakers.Settings.fromConfig(system.settings().config()));
  }

  HttpParticipantClient(
      ActorSystem<?> system,
      ParticipantDirectory directory,
      long maxResponseBytes,
      ParticipantBreakers.Settings breakerSettings) {
    this(
        system,
        directory,
        maxResponseBytes,
        breakerSettings,
        FencedTransport.overTcp(NodeFence.get(system.classicSystem())));
  }

  /**
   * @param transport what the pool's connections run over: the {@link FencedTransport} (tests wrap
   *     it to act at the moment a request's bytes reach it)
   */
  HttpParticipantClient(
      ActorSystem<?> system,
      ParticipantDirectory directory,
      long maxResponseBytes,
      ParticipantBreakers.Settings breakerSettings,
      ClientTransport transport) {
    this.system = Objects.requireNonNull(system, "system");
    this.directory = Objects.requireNonNull(directory, "directory");
    if (maxResponseBytes <= 0) {
      throw new IllegalArgumentException("maxResponseBytes must be > 0, was " + maxResponseBytes);
    }
    this.maxResponseBytes = maxResponseBytes;
    this.http = Http.get(system);
    this.httpsContext = http.defaultClientHttpsContext();
    this.poolSettings = poolSettings(system.settings().config()).withTransport(transport);
    this.poolLog = system.classicSystem().log();
    this.materializer = Materializer.matFromSystem(system);
    this.breakers =
        new ParticipantBreakers(
            breakerSettings,
            system.classicSystem().scheduler(),
            NodeMetrics.get(system.classicSystem()).registry());
    this.fence = NodeFence.get(system.classicSystem());
  }

  /** A client configured from the system's config and this process's environment. */
  public static HttpParticipantClient create(ActorSystem<?> system) {
    return create(system, ParticipantDirectory.create(system.settings().config()));
  }

  /** A client with the given directory, its limits read from the system's config. */
  public static HttpParticipantClient create(
      ActorSystem<?> system, ParticipantDirectory directory) {
    return new HttpParticipantClient(
        system, directory, system.settings().config().getBytes(MAX_RESPONSE_BYTES_KEY));
  }

  /** The pool settings for participant calls: this client's section over pekko-http's. */
  static ConnectionPoolSettings poolSettings(Config config) {
    Config overlay = config.hasPath(POOL_KEY) ? config.getConfig(POOL_KEY) : ConfigFactory.empty();
    return ConnectionPoolSettings.create(
        overlay.atPath("pekko.http.host-connection-pool").withFallback(config));
  }

  @Override
  public CompletionStage<Outcome> call(ParticipantRequest request) {
    if (request == null) {
      return CompletableFuture.completedFuture(new Permanent("no request"));
    }
    Target target;
    HttpRequest httpRequest;
    try {
      Optional<URI> base = directory.baseUrl(request.participant());
      if (base.isEmpty()) {
        return CompletableFuture.completedFuture(
            new Permanent(ParticipantDirectory.missingMessage(request.participant())));
      }
      target = Target.of(request, base.get());
      httpRequest = toHttpRequest(request, target.uri());
    } catch (RuntimeException | JsonProcessingException e) {
      // Building the request is deterministic: retrying cannot help, and nothing was sent.
      return CompletableFuture.completedFuture(
          new Permanent(
              "cannot call "
                  + request.participant()
                  + " "
                  + request.method()
                  + " "
                  + pathOnly(request.path())
                  + ": "
                  + e.getMessage()));
    }
    if (breakers.enabled()) {
      return breakers.call(
          target.participant(),
          target.call(),
          SagaMdc.ofHeaders(request.headers()),
          () -> send(target, httpRequest, request.withdrawn()),
          system.executionContext());
    }
    return send(target, httpRequest, request.withdrawn()).thenApply(Answer::outcome);
  }

  private CompletionStage<Answer> send(
      Target target, HttpRequest httpRequest, BooleanSupplier withdrawn) {
    try {
      return exchange(target, httpRequest, withdrawn);
    } catch (RuntimeException e) {
      return CompletableFuture.completedFuture(
          new Answer(Retryable.of(describeFailure(e, target)), Answer.NO_ANSWER));
    }
  }

  private CompletionStage<Answer> exchange(
      Target target, HttpRequest httpRequest, BooleanSupplier withdrawn) {
    CompletableFuture<Answer> result = new CompletableFuture<>();
    long deadline = System.nanoTime() + target.timeout().toNanos();
    // WAITING until the gate starts the call (SENT) or its deadline passes first (ABANDONED): a
    // call abandoned while it waited for a connection is never sent, and says so.
    AtomicInteger state = new AtomicInteger(WAITING);
    // The timer is what guarantees completion: whatever the pool or the stream does, the caller
    // hears back by the deadline.
    Cancellable timer =
        system
            .scheduler()
            .scheduleOnce(
                target.timeout(),
                () ->
                    result.complete(
                        new Answer(
                            Retryable.of(
                                state.compareAndSet(WAITING, ABANDONED)
                                    ? target.timedOutWaiting()
                                    : target.timedOut()),
                            Answer.NO_ANSWER)),
                system.executionContext());
    result.whenComplete((outcome, failure) -> timer.cancel());
    ConnectionGate gate =
        gates.computeIfAbsent(
            target.origin(),
            origin ->
                new ConnectionGate(
                    poolSettings.getMaxConnections(), poolSettings.getMaxOpenRequests()));
    ConnectionGate.Waiting call =
        () -> {
          if (!state.compareAndSet(WAITING, SENT)) {
            return false;
          }
          if (withdrawn.getAsBoolean()) {
            // Its saga stopped on this node while the call waited (a shard handed off): the
            // saga's new owner sends the attempt itself, and may compensate the step meanwhile,
            // so this one must not follow.
            result.complete(
                new Answer(
                    Retryable.of(target.notSent("withdrawn: the saga stopped on this node")),
                    Answer.WITHDRAWN));
            return false;
          }
          String refusal = fence.refusal();
          if (refusal != null) {
            // Checked when the call is about to leave: a node that may have been declared down
            // while this call waited (frozen, or on the minority side) must not send it.
            result.complete(new Answer(Retryable.of(target.notSent(refusal)), Answer.NO_ANSWER));
            return false;
          }
          try {
            send(target, httpRequest, deadline, result).whenComplete((done, e) -> gate.release());
            return true;
          } catch (RuntimeException e) {
            result.complete(new Answer(Retryable.of(describeFailure(e, target)), Answer.NO_ANSWER));
            return false;
          }
        };
    if (!gate.offer(call)) {
      result.complete(
          new Answer(
              Retryable.of(
                  "too many calls waiting for a connection (max-open-requests "
                      + poolSettings.getMaxOpenRequests()
                      + "), not sent: "
                      + target),
              Answer.NO_ANSWER));
    }
    return result;
  }

  /**
   * Sends one call through the pool and completes {@code result} with its answer; the stage
   * returned completes when the call's connection is free again (its response entity read or
   * discarded, or the request failed).
   */
  private CompletionStage<?> send(
      Target target, HttpRequest httpRequest, long deadline, CompletableFuture<Answer> result) {
    CompletableFuture<Object> connectionFree = new CompletableFuture<>();
    // pekko-http's stages are Scala futures seen as CompletableFutures, which run even non-async
    // callbacks through ForkJoinPool.commonPool() (a new thread per callback on fewer than 3
    // CPUs): every callback here names Pekko's dispatcher.
    Executor callbacks = system.executionContext();
    http.singleRequest(httpRequest, httpsContext, poolSettings, poolLog)
        .whenCompleteAsync(
            (response, failure) -> {
              if (failure != null) {
                result.complete(
                    new Answer(Retryable.of(describeFailure(failure, target)), Answer.NO_ANSWER));
                connectionFree.complete(null);
                return;
              }
              int status = response.status().intValue();
              long remainingMillis = (deadline - System.nanoTime()) / 1_000_000;
              if (result.isDone() || remainingMillis <= 0) {
                discard(response, connectionFree);
                result.complete(new Answer(Retryable.of(target.timedOut()), Answer.NO_ANSWER));
                return;
              }
              try {
                read(response, target, remainingMillis, callbacks)
                    .whenCompleteAsync(
                        (outcome, readFailure) -> {
                          result.complete(
                              new Answer(
                                  outcome != null
                                      ? outcome
                                      : Retryable.of(describeFailure(readFailure, target)),
                                  status));
                          connectionFree.complete(null);
                        },
                        callbacks);
              } catch (RuntimeException e) {
                discard(response, connectionFree);
                result.complete(new Answer(Retryable.of(describeFailure(e, target)), status));
              }
            },
            callbacks);
    return connectionFree;
  }

  private void discard(HttpResponse response, CompletableFuture<Object> connectionFree) {
    response
        .discardEntityBytes(materializer)
        .completionStage()
        .whenComplete((done, e) -> connectionFree.complete(null));
  }

  private CompletionStage<Outcome> read(
      HttpResponse response, Target target, long timeoutMillis, Executor callbacks) {
    ResponseEntity entity = response.entity();
    OptionalLong length = entity.getContentLengthOption();
    if (length.isPresent() && length.getAsLong() > maxResponseBytes) {
      // Draining a body we will not use costs more than a new connection, so fail its stream.
      abandonOversized(entity);
      return CompletableFuture.completedFuture(tooLarge(response, target));
    }
    Charset charset =
        entity
            .getContentType()
            .getCharsetOption()
            .map(HttpCharset::nioCharset)
            .orElse(StandardCharsets.UTF_8);
    return entity
        .withSizeLimit(maxResponseBytes)
        .toStrict(timeoutMillis, materializer)
        .handleAsync(
            (strict, failure) ->
                failure == null
                    ? classify(response, target, strict.getData(), charset)
                    : readFailed(response, target, failure),
            callbacks);
  }

  private static Outcome classify(
      HttpResponse response, Target target, ByteString body, Charset charset) {
    Outcome outcome =
        ParticipantAnswers.classify(
            target.toString(),
            response.status().intValue(),
            response.status().reason(),
            retryAfter(response),
            body.toArray(),
            charset,
            declaresJson(response.entity()));
    if (outcome instanceof Outcome.Succeeded ok && replayed(response)) {
      return new Outcome.Succeeded(ok.output(), true);
    }
    return outcome;
  }

  /** Whether the participant said it had applied this key before and answers as it did then. */
  private static boolean replayed(HttpResponse response) {
    return response
        .getHeader("Idempotent-Replayed")
        .map(h -> h.value().trim().equalsIgnoreCase("true"))
        .orElse(false);
  }

  private static boolean declaresJson(ResponseEntity entity) {
    String subType = entity.getContentType().mediaType().subType().toLowerCase(Locale.ROOT);
    return entity.getContentType().mediaType().mainType().equalsIgnoreCase("application")
        && (subType.equals("json") || subType.endsWith("+json"));
  }

  private static Optional<Duration> retryAfter(HttpResponse response) {
    return response.getHeader("Retry-After").map(HttpHeader::value).flatMap(RetryAfter::parse);
  }

  private Outcome readFailed(HttpResponse response, Target target, Throwable failure) {
    if (find(failure, EntityStreamSizeException.class) != null) {
      return tooLarge(response, target);
    }
    if (find(failure, TimeoutException.class) != null) {
      return Retryable.of(target.timedOut());
    }
    if (ParticipantAnswers.isSuccess(response.status().intValue())) {
      // The participant may have applied the effect but we lost its output: uncertain, retry.
      return Retryable.of(describeFailure(failure, target));
    }
    return failed(response, target, "(body unreadable)");
  }

  private Outcome tooLarge(HttpResponse response, Target target) {
    int status = response.status().intValue();
    if (ParticipantAnswers.isSuccess(status)) {
      return ParticipantAnswers.unreadable(
          target.toString(), status, "over " + maxResponseBytes + " bytes");
    }
    return failed(response, target, "(body over " + maxResponseBytes + " bytes not read)");
  }

  /** A non-2xx answer whose body was not read; {@code why} says so in its error. */
  private static Outcome failed(HttpResponse response, Target target, String why) {
    return ParticipantAnswers.failed(
        target.toString(),
        response.status().intValue(),
        response.status().reason(),
        retryAfter(response),
        why);
  }

  private HttpRequest toHttpRequest(ParticipantRequest request, URI uri)
      throws JsonProcessingException {
    Duration timeout = request.timeout();
    if (timeout == null || timeout.isNegative() || timeout.isZero()) {
      throw new IllegalArgumentException("timeout must be positive, was " + timeout);
    }
    String methodName = Objects.requireNonNull(request.method(), "method").toUpperCase(Locale.ROOT);
    HttpMethod method =
        HttpMethods.lookup(methodName)
            .orElseThrow(() -> new IllegalArgumentException("unknown HTTP method"));
    List<HttpHeader> headers = new ArrayList<>();
    boolean hasAccept = false;
    for (Map.Entry<String, String> header : request.headers().entrySet()) {
      String name = header.getKey().toLowerCase(Locale.ROOT);
      if (IGNORED_HEADERS.contains(name)) {
        continue;
      }
      if (hasLineBreak(header.getKey()) || hasLineBreak(header.getValue())) {
        // A saga id is user input: never let it smuggle in extra headers.
        throw new IllegalArgumentException("header " + header.getKey() + " has a line break");
      }
      hasAccept |= name.equals("accept");
      headers.add(RawHeader.create(header.getKey(), header.getValue()));
    }
    if (!hasAccept) {
      headers.add(RawHeader.create("Accept", "application/json"));
    }
    HttpRequest httpRequest =
        HttpRequest.create(uri.toASCIIString()).withMethod(method).addHeaders(headers);
    if (request.body() != null) {
      httpRequest =
          httpRequest.withEntity(
              HttpEntities.create(
                  ContentTypes.APPLICATION_JSON, JSON.writeValueAsBytes(request.body())));
    }
    return httpRequest;
  }

  private static boolean hasLineBreak(String s) {
    return s.indexOf('\r') >= 0 || s.indexOf('\n') >= 0 || s.indexOf('\0') >= 0;
  }

  /**
   * Fails the stream of an entity known to exceed the cap, which closes its connection. Failing,
   * not cancelling: pekko-http's pool can hand a connection whose entity was only cancelled to the
   * next request before closing it, and that unrelated request then fails.
   */
  private void abandonOversized(ResponseEntity entity) {
    entity.withSizeLimit(maxResponseBytes).getDataBytes().runWith(Sink.ignore(), materializer);
  }

  static String describeFailure(Throwable failure, Target target) {
    Throwable root = unwrap(failure);
    FencedException fenced = find(root, FencedException.class);
    if (fenced != null) {
      // Refused by the transport before any of the request's bytes left (FencedTransport).
      return target.notSent(fenced.getMessage());
    }
    String kind = null;
    for (Throwable t = root; t != null && kind == null; t = t.getCause()) {
      String message = String.valueOf(t.getMessage());
      if (t instanceof ConnectException || message.contains("Connection refused")) {
        kind = "connection refused";
      } else if (t instanceof UnknownHostException || message.contains("UnknownHostException")) {
        kind = "unknown host";
      } else if (t instanceof BufferOverflowException) {
        kind = "too many requests queued (max-open-requests)";
      } else if (message.contains("Connect timeout")) {
        kind = "connect timed out";
      } else if (message.contains("Connection reset")
          || t.getClass().getSimpleName().equals("UnexpectedConnectionClosureException")) {
        kind = "connection closed by peer";
      } else if (t instanceof TimeoutException) {
        return target.timedOut();
      }
    }
    if (kind == null) {
      String message =
          root.getMessage() == null ? "" : ": " + ParticipantAnswers.excerpt(root.getMessage());
      kind = "request failed (" + root.getClass().getSimpleName() + message + ")";
    }
    return kind + ": " + target.participant() + " " + target.origin() + " (" + target.call() + ")";
  }

  private static Throwable unwrap(Throwable failure) {
    Throwable t = failure;
    while ((t instanceof CompletionException || t instanceof ExecutionException)
        && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }

  private static <T extends Throwable> T find(Throwable failure, Class<T> type) {
    for (Throwable t = failure; t != null; t = t.getCause()) {
      if (type.isInstance(t)) {
        return type.cast(t);
      }
    }
    return null;
  }

  private static String pathOnly(String path) {
    if (path == null) {
      return "";
    }
    int query = path.indexOf('?');
    return query < 0 ? path : path.substring(0, query);
  }

  static String human(Duration duration) {
    long millis = duration.toMillis();
    return millis % 1000 == 0 ? millis / 1000 + "s" : millis + "ms";
  }

  /** Where one call goes, and how it is named in errors (no query string, no headers). */
  record Target(
      String participant, String method, String path, URI uri, String origin, Duration timeout) {

    static Target of(ParticipantRequest request, URI base) {
      URI uri = ParticipantDirectory.join(base, request.path());
      String origin =
          base.getScheme()
              + "://"
              + base.getHost()
              + (base.getPort() < 0 ? "" : ":" + base.getPort());
      return new Target(
          request.participant(),
          Objects.requireNonNull(request.method(), "method").toUpperCase(Locale.ROOT),
          pathOnly(request.path()),
          uri,
          origin,
          request.timeout());
    }

    String call() {
      return method + " " + path;
    }

    String timedOut() {
      return "timed out after " + human(timeout) + " calling " + this;
    }

    /** Timed out before a connection was free: the participant never saw this call. */
    String timedOutWaiting() {
      return "timed out after "
          + human(timeout)
          + " waiting for a connection to "
          + origin
          + ", not sent: "
          + this;
    }

    String notSent(String why) {
      return "not sent: " + this + ": " + why;
    }

    @Override
    public String toString() {
      return participant + " " + call();
    }
  }
}
