package io.sagaflow.chaos.run;

import io.sagaflow.chaos.format.FaultEvent;
import io.sagaflow.chaos.format.Jsonl;
import io.sagaflow.orchestrator.history.SagaHistory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Runs the {@link FaultPlan}, one fault at a time: waits the fault's gap, injects it, ends it after
 * its length, and waits until all three nodes are up, ready and see each other before the next.
 * Every fault and its end go to {@code faults.jsonl}, a node restarted on the way as {@code
 * RESTART}.
 */
final class FaultInjector {
  /** How long a node woken or healed may take to rejoin before it is killed and restarted. */
  private static final Duration REJOIN_DEADLINE = Duration.ofSeconds(90);

  /**
   * A fault as it happened.
   *
   * @param start when it was injected, epoch ms
   * @param end when it ended (restart, SIGCONT, heal, database start, storm end), epoch ms
   * @param whole when the cluster was whole again, epoch ms
   * @param shards for a kill, a stop or a partition: the victim's saga shards just before
   * @param notes what else happened (a node that exited or had to be killed)
   */
  record Injected(
      FaultPlan.Fault fault,
      String node,
      long start,
      long end,
      long whole,
      Set<String> shards,
      List<String> notes) {}

  /** The cluster did not become whole again: the run cannot go on. */
  static final class NotRecovered extends RuntimeException {
    NotRecovered(String message) {
      super(message);
    }
  }

  private final ChaosCluster cluster;
  private final ChaosDatabase db;
  private final ParticipantJvm participant;
  private final Jsonl.Writer faults;
  private final Consumer<String> progress;
  private final List<Injected> injected = new ArrayList<>();

  FaultInjector(
      ChaosCluster cluster,
      ChaosDatabase db,
      ParticipantJvm participant,
      Jsonl.Writer faults,
      Consumer<String> progress) {
    this.cluster = cluster;
    this.db = db;
    this.participant = participant;
    this.faults = faults;
    this.progress = progress;
  }

  List<Injected> injected() {
    return List.copyOf(injected);
  }

  /**
   * Runs every fault of the plan, in order; throws {@link NotRecovered} when one is not survived.
   */
  void run(FaultPlan plan) {
    for (FaultPlan.Fault fault : plan.faults()) {
      Await.pause(fault.gapBefore());
      progress.accept("fault " + fault.describe());
      injected.add(inject(fault));
    }
  }

  void faultsOver() {
    write(FaultEvent.Kind.FAULTS_OVER, null, injected.size() + " faults");
  }

  private Injected inject(FaultPlan.Fault fault) {
    var notes = new ArrayList<String>();
    NodeProcess victim = fault.node() >= 0 ? cluster.node(fault.node()) : null;
    Set<String> shards =
        victim == null ? Set.of() : victim.shards(SagaHistory.ENTITY_TYPE).orElse(Set.of());
    if (victim != null && shards.isEmpty()) {
      notes.add(victim.name + " named no saga shard before the fault");
    }
    long start;
    long end;
    switch (fault.kind()) {
      case KILL -> {
        long pid = victim.pid();
        start = System.currentTimeMillis();
        victim.kill();
        write(FaultEvent.Kind.KILL, victim.name, "pid " + pid);
        Await.pause(fault.length());
        cluster.start(victim);
        end = System.currentTimeMillis();
        restarted(victim, "after kill -9");
      }
      case STOP -> {
        start = System.currentTimeMillis();
        if (!victim.signal("STOP")) {
          throw new NotRecovered("kill -STOP " + victim.pid() + " failed");
        }
        write(
            FaultEvent.Kind.STOP,
            victim.name,
            "pid " + victim.pid() + ", " + fault.length().toMillis() + " ms");
        Await.pause(fault.length());
        victim.signal("CONT");
        end = System.currentTimeMillis();
        write(FaultEvent.Kind.CONT, victim.name, "pid " + victim.pid());
        rejoinOrRestart(victim, notes, "SIGCONT");
      }
      case DB_RESTART -> {
        long pid = db.pid();
        start = System.currentTimeMillis();
        db.crash();
        write(FaultEvent.Kind.DB_STOP, null, "pid " + pid + ", -m immediate (SIGQUIT)");
        Await.pause(fault.length());
        db.restart();
        end = System.currentTimeMillis();
        write(
            FaultEvent.Kind.DB_START, null, "pid " + db.pid() + ", down " + (end - start) + " ms");
      }
      case PARTITION -> {
        start = System.currentTimeMillis();
        victim.proxy().cut();
        write(
            FaultEvent.Kind.PARTITION,
            victim.name,
            "inbound remoting cut for " + fault.length().toMillis() + " ms");
        Await.pause(fault.length());
        victim.proxy().heal();
        end = System.currentTimeMillis();
        write(FaultEvent.Kind.HEAL, victim.name, "cut " + (end - start) + " ms");
        rejoinOrRestart(victim, notes, "the heal");
      }
      case STORM -> {
        start = System.currentTimeMillis();
        participant.storm(fault.length().toSeconds());
        write(FaultEvent.Kind.STORM_START, null, fault.length().toSeconds() + " s of 503");
        Await.pause(fault.length());
        end = System.currentTimeMillis();
        write(FaultEvent.Kind.STORM_END, null, null);
      }
      default -> throw new IllegalStateException(fault.kind().toString());
    }
    awaitWhole(fault, notes);
    long whole = System.currentTimeMillis();
    progress.accept(
        "fault #" + fault.number() + " over; cluster whole " + (whole - end) + " ms after its end");
    return new Injected(
        fault, victim == null ? null : victim.name, start, end, whole, shards, List.copyOf(notes));
  }

  /**
   * A node woken or healed either rejoins or exits (it was downed: it is restarted); one that does
   * neither within {@link #REJOIN_DEADLINE} is killed and restarted, and that is noted.
   */
  private void rejoinOrRestart(NodeProcess victim, List<String> notes, String after) {
    boolean whole =
        cluster.awaitWhole(
            REJOIN_DEADLINE,
            node -> {
              notes.add(node.name + " exited after " + after + " and was restarted");
              restarted(node, "exited after " + after);
            });
    if (!whole && victim.alive()) {
      notes.add(
          victim.name + " neither rejoined nor exited within " + REJOIN_DEADLINE + "; killed");
      long pid = victim.pid();
      victim.kill();
      write(FaultEvent.Kind.KILL, victim.name, "pid " + pid + ": not rejoined after " + after);
      cluster.start(victim);
      restarted(victim, "killed: not rejoined after " + after);
    }
  }

  private void awaitWhole(FaultPlan.Fault fault, List<String> notes) {
    boolean whole =
        cluster.awaitWhole(
            ChaosCluster.START_DEADLINE,
            node -> {
              notes.add(node.name + " exited and was restarted");
              restarted(node, "exited");
            });
    if (!whole) {
      throw new NotRecovered(
          "the cluster was not whole within "
              + ChaosCluster.START_DEADLINE
              + " after fault "
              + fault.describe()
              + " ("
              + cluster.nodes()
              + ")");
    }
  }

  private void restarted(NodeProcess node, String why) {
    write(
        FaultEvent.Kind.RESTART,
        node.name,
        why + ": incarnation " + node.incarnation() + ", pid " + node.pid());
  }

  private void write(FaultEvent.Kind kind, String node, String detail) {
    faults.write(new FaultEvent(System.currentTimeMillis(), kind, node, detail));
  }
}
