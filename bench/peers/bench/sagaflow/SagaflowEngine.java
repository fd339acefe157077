package bench.sagaflow;

import bench.SagaEngine;
import bench.SagaSteps;
import bench.SagaSteps.ShipFailedException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.node.SagaflowNode;
import io.sagaflow.orchestrator.SagaFinished;
import io.sagaflow.orchestrator.SagaReplies;
import io.sagaflow.orchestrator.dsl.LocalCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.dsl.StepContext;
import io.sagaflow.orchestrator.dsl.StepRejectedException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.apache.pekko.actor.typed.ActorRef;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.Props;
import org.apache.pekko.actor.typed.eventstream.EventStream;
import org.apache.pekko.actor.typed.javadsl.Behaviors;

/**
 * The shared harness's Sagaflow adapter ({@code ../shared/peers-bench/src/sagaflow}), changed only
 * for the DSL as it is since #18: the steps are typed on the input ({@code Step.<JsonNode>named},
 * {@code LocalCall.<JsonNode>of}, {@code StepContext<JsonNode>}), and the last step says that it
 * has no compensation ({@code noCompensation()}: the DSL now refuses a step before the pivot that
 * does not say). The saga, its steps and the measurement are the harness's. {@code
 * bench/scripts/peers-bench.sh} lays this file over the harness's copy.
 *
 * <p>Sagaflow, one node in this JVM (started with {@code SagaflowNode.start}, as Sagaflow's own bench
 * does), on the external PostgreSQL given by {@code SAGAFLOW_DB_URL/USER/PASSWORD}, with the
 * node's defaults: journal batching, the saga index projection, 100 shards, recovery sweep. Only
 * the ports are changed (0 = free ones; hosts stay 127.0.0.1), so it cannot clash with another
 * node on the machine.
 *
 * <p>The saga: three {@link LocalCall} steps calling the shared {@link SagaSteps}. The input is
 * {@code {sagaId, orderId, amount, failShip}}; each step's returned map becomes its output in the
 * journal. In variant B {@code ship} completes with {@link StepRejectedException} (permanent, no
 * retry), so Sagaflow compensates {@code charge-payment} (refund) and then {@code
 * reserve-inventory} (release); each compensation reads the id it undoes from its step's output.
 *
 * <p>Start and completion: {@code engine.start(...)} answers once {@code SagaStarted} is written;
 * {@link #startSaga} waits for that answer. Completion is {@link SagaFinished} on the actor
 * system's event stream, published after the terminal event is written.
 *
 * <p>Compiled apart from the Maven build (run.sh: {@code javac} against the shaded {@code
 * sagaflow.jar}) and run with only the harness classes and that jar on the classpath.
 */
public class SagaflowEngine implements SagaEngine {
  static final String TYPE = "saga";
  static final String RESERVE = "reserve-inventory";
  static final String CHARGE = "charge-payment";
  static final String SHIP = "ship";

  private final String jdbcUrl;
  private final String user;
  private final String password;
  private final Map<String, CompletableFuture<String>> pending = new ConcurrentHashMap<>();
  /** Sagas whose start Sagaflow accepted (created): the saga index must end up with as many. */
  private final AtomicLong accepted = new AtomicLong();

  private SagaflowNode node;
  private io.sagaflow.orchestrator.SagaEngine engine;
  private Connection poll; // saga_index reads for awaitBackgroundWork / the summary

  public SagaflowEngine(String host, int port, String db, String user, String password) {
    this.jdbcUrl = "jdbc:postgresql://" + host + ":" + port + "/" + db;
    this.user = user;
    this.password = password;
  }

  @Override
  public String name() {
    return "sagaflow";
  }

  @Override
  public String database() {
    return jdbcUrl.substring(jdbcUrl.lastIndexOf('/') + 1);
  }

  static SagaDefinition<JsonNode> definition() {
    return SagaDefinition.builder(TYPE)
        .version(1)
        .step(
            Step.<JsonNode>named(RESERVE)
                .invoke(
                    local(
                        ctx ->
                            done(
                                SagaSteps.reserveInventory(
                                    sagaId(ctx), orderId(ctx), amount(ctx)))))
                .compensateWith(
                    local(
                        ctx ->
                            done(
                                SagaSteps.releaseInventory(
                                    sagaId(ctx),
                                    orderId(ctx),
                                    outputField(ctx, RESERVE, "reservationId"))))))
        .step(
            Step.<JsonNode>named(CHARGE)
                .invoke(
                    local(
                        ctx ->
                            done(SagaSteps.chargePayment(sagaId(ctx), orderId(ctx), amount(ctx)))))
                .compensateWith(
                    local(
                        ctx ->
                            done(
                                SagaSteps.refundPayment(
                                    sagaId(ctx),
                                    orderId(ctx),
                                    outputField(ctx, CHARGE, "paymentId"))))))
        .step(
            Step.<JsonNode>named(SHIP)
                .invoke(
                    local(
                        ctx -> {
                          try {
                            return done(
                                SagaSteps.ship(
                                    sagaId(ctx), orderId(ctx), ctx.input().get("failShip").asBoolean()));
                          } catch (ShipFailedException e) {
                            // permanent business failure: rejected, not retried -> compensation
                            return CompletableFuture.failedFuture(
                                new StepRejectedException(e.getMessage()));
                          }
                        }))
                // the last step: nothing after it can fail, so nothing undoes it
                .noCompensation())
        .build();
  }

  /**
   * {@code SAGAFLOW_LOCAL_STEPS=nonblocking} runs the steps with {@code LocalCall.nonBlocking}, on
   * the saga's own thread: the harness's steps are in-memory functions, exactly what it is for.
   * Unset (or {@code pool}), {@code LocalCall.of}: on the node's local-steps pool, the default a
   * user who has not read that far gets. The summary says which.
   */
  static final boolean NON_BLOCKING =
      "nonblocking".equalsIgnoreCase(System.getenv().getOrDefault("SAGAFLOW_LOCAL_STEPS", "pool"));

  private static LocalCall<JsonNode> local(Function<StepContext<JsonNode>, ?> function) {
    return NON_BLOCKING ? LocalCall.nonBlocking(function) : LocalCall.of(function);
  }

  private static CompletionStage<Map<String, Object>> done(Map<String, Object> result) {
    return CompletableFuture.completedFuture(result);
  }

  private static String sagaId(StepContext<JsonNode> ctx) {
    return ctx.input().get("sagaId").asText();
  }

  private static String orderId(StepContext<JsonNode> ctx) {
    return ctx.input().get("orderId").asText();
  }

  private static long amount(StepContext<JsonNode> ctx) {
    return ctx.input().get("amount").asLong();
  }

  /**
   * A field of an earlier step's output; null if that step has no output (Sagaflow runs a
   * compensation also for a step whose outcome is uncertain, and it must not fail then).
   */
  private static String outputField(StepContext<JsonNode> ctx, String step, String field) {
    try {
      JsonNode v = ctx.output(step).get(field);
      return v == null ? null : v.asText();
    } catch (IllegalStateException noOutput) {
      return null;
    }
  }

  @Override
  public void start() throws Exception {
    // As Sagaflow's BenchNode: every port free (picked at start), hosts 127.0.0.1 (the node's
    // remote and management hosts already default to it). Nothing else is tuned.
    Map<String, Object> settings = new HashMap<>();
    settings.put("sagaflow.http.host", "127.0.0.1");
    settings.put("sagaflow.http.port", 0);
    settings.put("pekko.management.http.port", 0);
    settings.put("pekko.remote.artery.canonical.port", 0);
    Map<String, String> env = new HashMap<>(System.getenv());
    env.put("SAGAFLOW_DB_URL", jdbcUrl);
    env.put("SAGAFLOW_DB_USER", user);
    env.put("SAGAFLOW_DB_PASSWORD", password);
    node = SagaflowNode.start(ConfigFactory.parseMap(settings), env, List.of(definition()));
    engine = node.engine();

    ActorSystem<Void> system = node.system();
    ActorRef<SagaFinished> listener =
        system.systemActorOf(
            Behaviors.receiveMessage(
                (SagaFinished f) -> {
                  CompletableFuture<String> fut = pending.remove(f.sagaId());
                  if (fut != null) fut.complete(f.status().name());
                  return Behaviors.same();
                }),
            "bench-finished-" + UUID.randomUUID(),
            Props.empty());
    // Sagas start only after this Subscribe is in the event stream's mailbox, so every
    // SagaFinished they publish reaches the listener.
    system.eventStream().tell(new EventStream.Subscribe<>(SagaFinished.class, listener));
    poll = DriverManager.getConnection(jdbcUrl, user, password);
    poll.setAutoCommit(true);
  }

  @Override
  public CompletableFuture<String> startSaga(
      String sagaId, String orderId, long amount, boolean failShip) throws Exception {
    ObjectNode input =
        JsonNodeFactory.instance
            .objectNode()
            .put("sagaId", sagaId)
            .put("orderId", orderId)
            .put("amount", amount)
            .put("failShip", failShip);
    CompletableFuture<String> done = new CompletableFuture<>();
    pending.put(sagaId, done); // before the start: the end may be announced before the answer
    SagaReplies.StartReply reply;
    try {
      // answers once SagaStarted is written (the ask times out after sagaflow.engine.ask-timeout)
      reply = engine.start(sagaId, TYPE, null, input).toCompletableFuture().get();
    } catch (ExecutionException e) {
      pending.remove(sagaId);
      throw e.getCause() instanceof Exception ex ? ex : e;
    } catch (RuntimeException | InterruptedException e) {
      pending.remove(sagaId);
      throw e;
    }
    if (!(reply instanceof SagaReplies.Accepted a && a.created())) {
      pending.remove(sagaId);
      throw new IllegalStateException("start of " + sagaId + " answered " + reply);
    }
    accepted.incrementAndGet();
    return done;
  }

  /**
   * Sagaflow updates {@code saga_index} from the journal asynchronously (a projection, in groups
   * of up to 500 events or 50 ms). Wait until it shows every accepted saga ended.
   */
  @Override
  public void awaitBackgroundWork() throws Exception {
    long want = accepted.get();
    long deadline = System.nanoTime() + 120_000_000_000L;
    long seen;
    while ((seen = terminalInIndex()) < want) {
      if (System.nanoTime() > deadline) {
        System.err.println(
            "[sagaflow] saga_index shows " + seen + " of " + want + " sagas ended after 120 s");
        return;
      }
      Thread.sleep(50);
    }
  }

  private long terminalInIndex() throws SQLException {
    try (Statement s = poll.createStatement();
        ResultSet rs =
            s.executeQuery(
                "select count(*) from saga_index"
                    + " where status in ('COMPLETED', 'COMPENSATED', 'FAILED')")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  @Override
  public String tuning() {
    Config c = node.system().settings().config();
    return "Sagaflow "
        + System.getProperty("sagaflow.bench.build", "(build unknown)")
        + " node defaults (only ports set to 0): engine ask-timeout="
        + get(c, "sagaflow.engine.ask-timeout")
        + " max-starts-in-flight="
        + get(c, "sagaflow.engine.max-starts-in-flight")
        + " shards="
        + get(c, "sagaflow.engine.number-of-shards")
        + ", journal pool maxConnections="
        + get(c, "pekko-persistence-jdbc.shared-databases.slick.db.maxConnections")
        + " journal parallelism="
        + get(c, "jdbc-journal.parallelism")
        + ", index projection-connections="
        + get(c, "sagaflow.index.projection-connections")
        + " read-connections="
        + get(c, "sagaflow.index.read-connections")
        + " group-max-events="
        + get(c, "sagaflow.index.group-max-events")
        + " group-max-delay="
        + get(c, "sagaflow.index.group-max-delay")
        + ", default-dispatcher fork-join parallelism min/factor/max="
        + get(c, "pekko.actor.default-dispatcher.fork-join-executor.parallelism-min")
        + "/"
        + get(c, "pekko.actor.default-dispatcher.fork-join-executor.parallelism-factor")
        + "/"
        + get(c, "pekko.actor.default-dispatcher.fork-join-executor.parallelism-max")
        + ", recovery sweep-interval="
        + get(c, "sagaflow.recovery.sweep-interval")
        + ", steps: "
        + (NON_BLOCKING ? "LocalCall.nonBlocking" : "LocalCall.of")
        + ", default retry policy, ship rejected with StepRejectedException";
  }

  private static String get(Config c, String path) {
    return c.hasPath(path) ? c.getValue(path).unwrapped().toString() : "?";
  }

  @Override
  public String engineRecordedSummary() throws Exception {
    StringBuilder sb = new StringBuilder("saga_index by status:");
    try (Statement s = poll.createStatement()) {
      try (ResultSet rs =
          s.executeQuery(
              "select status, count(*) from saga_index where type = '"
                  + TYPE
                  + "' group by status order by 1")) {
        while (rs.next()) sb.append(' ').append(rs.getString(1)).append('=').append(rs.getLong(2));
      }
      try (ResultSet rs =
          s.executeQuery(
              "select count(*) filter (where persistence_id like 'saga|%'),"
                  + " count(*) filter (where persistence_id not like 'saga|%')"
                  + " from event_journal")) {
        rs.next();
        sb.append("; event_journal rows: sagas=")
            .append(rs.getLong(1))
            .append(" other=")
            .append(rs.getLong(2));
      }
    }
    sb.append("; sagas accepted=").append(accepted.get());
    return sb.toString();
  }

  @Override
  public void close() {
    try {
      if (node != null) node.close();
    } finally {
      if (poll != null) {
        try {
          poll.close();
        } catch (SQLException ignored) {
        }
      }
    }
  }
}
