package io.sagaflow.chaos.run;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.chaos.ChaosSaga;
import io.sagaflow.chaos.format.ApiCall;
import io.sagaflow.chaos.format.Jsonl;
import io.sagaflow.chaos.format.LedgerEntry;
import io.sagaflow.node.SagaflowNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * One chaos run, start to end (see RELIABILITY.md): PostgreSQL, the participants' JVM, three
 * proxies and three node JVMs; the load and the seeded faults, one at a time; then the drain, the
 * probes after the last fault, the checker and the report.
 */
public final class ChaosRunner {
  private static final int NODES = 3;

  /** A guess of how long a node takes to be back after a fault, to spread the load. */
  private static final Duration NODE_RECOVERY_GUESS = Duration.ofSeconds(20);

  private final RunOptions options;
  private final PrintStream out;
  private final long startedAt = System.currentTimeMillis();
  private final Map<String, Long> phases = new LinkedHashMap<>();
  private long phaseStart = startedAt;

  private ChaosRunner(RunOptions options, PrintStream out) {
    this.options = options;
    this.out = out;
  }

  /**
   * Runs the whole thing, prints and writes its report; 0 when the run completed and the checker
   * found no violation, else 1.
   */
  public static int run(RunOptions options, PrintStream out) {
    return execute(options, out).ok() ? 0 : 1;
  }

  /** Runs the whole thing and returns its report (also written to the run directory). */
  static RunReport execute(RunOptions options, PrintStream out) {
    return new ChaosRunner(options, out).run();
  }

  private void progress(String line) {
    long s = (System.currentTimeMillis() - startedAt) / 1000;
    String stamped = String.format("[%02d:%02d] %s", s / 60, s % 60, line);
    out.println(stamped);
    out.flush();
    try {
      Files.writeString(
          options.dir().resolve("run.log"),
          stamped + "\n",
          StandardCharsets.UTF_8,
          java.nio.file.StandardOpenOption.CREATE,
          java.nio.file.StandardOpenOption.APPEND);
    } catch (IOException e) {
      // the console has it
    }
  }

  private void phase(String name) {
    long now = System.currentTimeMillis();
    phases.put(name, now - phaseStart);
    phaseStart = now;
  }

  private RunReport run() {
    Path dir = options.dir().toAbsolutePath();
    prepare(dir);
    Config nodeConfig = SagaflowNode.config(ConfigFactory.empty());
    var timings = FaultPlan.Timings.from(nodeConfig, options.margin());
    FaultPlan plan = FaultPlan.draw(options, timings, NODES);
    double rate =
        options.rate() > 0
            ? options.rate()
            : Math.max(
                1.0,
                options.sagas() / (double) plan.plannedLength(NODE_RECOVERY_GUESS).toSeconds());
    progress(
        "chaos run: profile "
            + options.profile()
            + ", seed "
            + options.seed()
            + ", "
            + plan.faults().size()
            + " faults, "
            + String.format("%.1f", rate)
            + " sagas/s, in "
            + dir);
    for (FaultPlan.Fault f : plan.faults()) {
      progress("  planned " + f.describe() + " after " + f.gapBefore().toMillis() + " ms");
    }

    HttpClient http =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(3))
            .build();
    List<String> java = javaCommand();
    var state = new State();
    String failure = null;
    Collaborators.Verdict verdict = null;
    List<Figures.Resume> resumes = List.of();
    Optional<Figures.Storm> storm = Optional.empty();
    try (Jsonl.Writer history = new Jsonl.Writer(dir.resolve("history.jsonl"));
        Jsonl.Writer faults = new Jsonl.Writer(dir.resolve("faults.jsonl"))) {
      progress("starting PostgreSQL");
      try (ChaosDatabase db = ChaosDatabase.start(dir)) {
        progress("PostgreSQL up (pid " + db.pid() + "); starting the participants");
        try (ParticipantJvm participant =
                ParticipantJvm.start(
                    participantJava(java),
                    options.seed(),
                    dir.resolve("ledger.jsonl"),
                    options.mix(),
                    dir.resolve("participant.log"),
                    http);
            ChaosCluster cluster =
                new ChaosCluster(
                    NODES, dir, java, db.settings(), participant.url(), http, this::progress)) {
          progress("participants on " + participant.url() + "; starting three nodes");
          failure = drive(plan, rate, cluster, db, participant, history, faults, http, state);
          if (failure == null || state.drained) {
            progress("running the checker");
            verdict = Collaborators.check(dir, db.settings());
            phase("check");
            int shards = nodeConfig.getInt("sagaflow.engine.number-of-shards");
            resumes =
                Figures.resumes(
                    db.settings(),
                    state.injected,
                    shards,
                    Jsonl.read(dir.resolve("ledger.jsonl"), LedgerEntry.class));
            storm = stormFigures(dir, state.injected);
          }
        }
      }
    } catch (RuntimeException e) {
      failure = failure != null ? failure : e.toString();
      progress("the run failed: " + e);
      e.printStackTrace(out);
    }
    phases.put("total", System.currentTimeMillis() - startedAt);
    RunReport report =
        new RunReport(
            options.profile(),
            options.seed(),
            dir,
            startedAt,
            System.currentTimeMillis() - startedAt,
            phases,
            rate,
            timings,
            state.load == null ? 0 : state.load.started(),
            state.load == null ? 0 : state.load.acknowledged().size(),
            state.load == null ? 0 : state.load.refused(),
            state.load == null ? 0 : state.load.unresolved().size(),
            state.load == null ? 0 : state.load.resends(),
            state.load == null ? 0 : state.load.cancels(),
            List.copyOf(new TreeSet<>(state.notEnded)),
            state.injected,
            resumes,
            storm,
            state.ready,
            state.startsAfter,
            failure == null,
            failure,
            verdict == null ? null : verdict.ok(),
            verdict != null && verdict.stub(),
            verdict == null ? null : verdict.rendered());
    report.write();
    out.println();
    out.println(report.markdown());
    out.println("report: " + dir.resolve("report.md"));
    out.flush();
    return report;
  }

  /** What a run collected, filled in as it goes (so that a failed run still reports it). */
  private static final class State {
    LoadGenerator load;
    List<FaultInjector.Injected> injected = List.of();
    Set<String> notEnded = new HashSet<>();
    Map<String, Integer> ready = new TreeMap<>();
    Map<String, String> startsAfter = new TreeMap<>();
    boolean drained;
  }

  /** Formation, load and faults, drain, probes; the reason the run could not complete, or null. */
  private String drive(
      FaultPlan plan,
      double rate,
      ChaosCluster cluster,
      ChaosDatabase db,
      ParticipantJvm participant,
      Jsonl.Writer history,
      Jsonl.Writer faults,
      HttpClient http,
      State state) {
    cluster.startMissing();
    if (!cluster.awaitWhole(ChaosCluster.START_DEADLINE, node -> {})) {
      return "the cluster did not form within " + ChaosCluster.START_DEADLINE;
    }
    phase("start");
    progress("cluster formed: " + cluster.nodes());
    var load =
        new LoadGenerator(
            cluster.nodes(),
            http,
            history,
            options.seed(),
            rate,
            options.workers(),
            options.cancelShare());
    state.load = load;
    var injector = new FaultInjector(cluster, db, participant, faults, this::progress);
    load.start();
    String failure = null;
    try {
      injector.run(plan);
    } catch (FaultInjector.NotRecovered e) {
      failure = e.getMessage();
    } finally {
      state.injected = injector.injected();
    }
    if (failure == null) {
      // The faults may end before the load has started the profile's sagas: go on without faults.
      Duration rest = Duration.ofSeconds((long) (options.sagas() / rate) + 60);
      if (!Await.condition(() -> load.started() >= options.sagas(), rest, Duration.ofMillis(200))) {
        failure = "the load started only " + load.started() + " of " + options.sagas() + " sagas";
      }
    }
    injector.faultsOver();
    phase("faults");
    progress(
        "faults over ("
            + state.injected.size()
            + "); stopping the load at "
            + load.started()
            + " sagas");
    load.stop(options.drain());
    if (failure != null) {
      return failure;
    }
    if (!cluster.awaitWhole(ChaosCluster.START_DEADLINE, node -> {})) {
      return "the cluster was not whole after the last fault";
    }
    progress("probing each node and starting one saga through each");
    var afterFaults = new HashSet<String>();
    for (NodeProcess node : cluster.nodes()) {
      state.ready.put(node.name, load.probeReady(node));
    }
    for (int i = 0; i < cluster.size(); i++) {
      NodeProcess node = cluster.node(i);
      String id = "after-faults-" + node.name;
      String body =
          "{\"type\":\"" + ChaosSaga.TYPE + "\",\"id\":\"" + id + "\",\"input\":{\"order\":0}}";
      LoadGenerator.Outcome outcome = load.startSaga(LoadGenerator.RUNNER, id, body, i, true);
      state.startsAfter.put(node.name, outcome.phase() + " " + outcome.http());
      if (outcome.phase() == io.sagaflow.chaos.format.ApiCall.Phase.OK) {
        afterFaults.add(id);
      }
    }
    progress("draining " + load.acknowledged().size() + " acknowledged sagas");
    var toDrain = new HashSet<>(load.acknowledged());
    toDrain.addAll(afterFaults);
    state.notEnded = load.drain(toDrain, options.drain(), 4);
    state.drained = true;
    phase("drain");
    progress(
        "drained: "
            + (toDrain.size() - state.notEnded.size())
            + " ended, "
            + state.notEnded.size()
            + " not ended by the deadline");
    return null;
  }

  private static Optional<Figures.Storm> stormFigures(
      Path dir, List<FaultInjector.Injected> faults) {
    List<LedgerEntry> ledger = Jsonl.read(dir.resolve("ledger.jsonl"), LedgerEntry.class);
    for (int i = 0; i < faults.size(); i++) {
      if (faults.get(i).fault().kind() == FaultPlan.Kind.STORM) {
        long previousEnd = i > 0 ? faults.get(i - 1).whole() : 0;
        long nextStart = i + 1 < faults.size() ? faults.get(i + 1).start() : Long.MAX_VALUE;
        FaultInjector.Injected storm = faults.get(i);
        Set<String> startedDuring = new HashSet<>();
        for (ApiCall call : Jsonl.read(dir.resolve("history.jsonl"), ApiCall.class)) {
          if (call.op() == ApiCall.Op.START
              && call.t() >= storm.start()
              && call.t() < storm.end()) {
            startedDuring.add(call.sagaId());
          }
        }
        return Optional.of(Figures.storm(ledger, startedDuring, storm, previousEnd, nextStart));
      }
    }
    return Optional.empty();
  }

  private void prepare(Path dir) {
    try {
      Files.createDirectories(dir);
      if (Files.exists(dir.resolve("history.jsonl"))) {
        throw new IllegalArgumentException(dir + " holds an earlier run; choose another --dir");
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create " + dir, e);
    }
  }

  /** {@code java ... -cp <this JVM's classpath>}: the jar, or the test classpath in the IT. */
  private static List<String> javaCommand() {
    String java =
        ProcessHandle.current()
            .info()
            .command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    var command = new ArrayList<String>();
    command.add(java);
    command.addAll(
        List.of(
            "-Xmx384m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Dlogback.configurationFile=chaos-node-logback.xml",
            "-cp",
            System.getProperty("java.class.path")));
    return command;
  }

  private static List<String> participantJava(List<String> nodeJava) {
    var command = new ArrayList<>(nodeJava);
    command.set(1, "-Xmx256m");
    return command;
  }
}
