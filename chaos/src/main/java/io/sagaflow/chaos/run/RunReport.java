package io.sagaflow.chaos.run;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jdk8.Jdk8Module;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a run did and found, written to {@code <run-dir>/report.md} and {@code report.json}.
 *
 * @param completed whether the run got through its faults, drain and checks
 * @param failure why it did not complete, else null
 * @param verdict the checker's rendering, null when it did not run
 */
record RunReport(
    String profile,
    long seed,
    Path dir,
    long startedAt,
    long totalMs,
    Map<String, Long> phasesMs,
    double rate,
    FaultPlan.Timings timings,
    int sagasStarted,
    int sagasAcknowledged,
    int sagasRefused,
    int startsUnresolved,
    int resends,
    int cancels,
    List<String> notEndedAfterDrain,
    List<FaultInjector.Injected> faults,
    List<Figures.Resume> resumes,
    Optional<Figures.Storm> storm,
    Map<String, Integer> readyAfterFaults,
    Map<String, String> startsAfterFaults,
    boolean completed,
    String failure,
    Boolean checksOk,
    boolean checkerIsStub,
    String verdict) {

  @JsonProperty("ok")
  boolean ok() {
    return completed && Boolean.TRUE.equals(checksOk);
  }

  void write() {
    try {
      Files.writeString(dir.resolve("report.md"), markdown(), StandardCharsets.UTF_8);
      ObjectMapper json =
          new ObjectMapper()
              .registerModule(new Jdk8Module())
              .registerModule(new JavaTimeModule())
              .disable(SerializationFeature.WRITE_DURATIONS_AS_TIMESTAMPS)
              .enable(SerializationFeature.INDENT_OUTPUT);
      Files.writeString(
          dir.resolve("report.json"), json.writeValueAsString(this), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("could not write the report", e);
    }
  }

  String markdown() {
    var md = new StringBuilder();
    md.append("# Chaos run ").append(profile).append(", seed ").append(seed).append("\n\n");
    md.append("- result: ")
        .append(ok() ? "**OK**" : "**FAILED**")
        .append(completed ? "" : " (did not complete: " + failure + ")")
        .append('\n');
    md.append("- started ")
        .append(Instant.ofEpochMilli(startedAt))
        .append(", took ")
        .append(seconds(totalMs))
        .append(" (");
    phasesMs.forEach((phase, ms) -> md.append(phase).append(' ').append(seconds(ms)).append(", "));
    md.setLength(md.length() - 2);
    md.append(")\n");
    md.append("- directory: ").append(dir.toAbsolutePath()).append('\n');
    md.append(
        String.format(
            "- cluster timings (from the nodes' config): acceptable-heartbeat-pause %s,"
                + " stable-after %s; pauses and partitions last %s%n",
            timings.acceptableHeartbeatPause(), timings.stableAfter(), timings.pastDowning()));
    md.append(
        String.format(
            "- sagas: %d started (%.1f/s), %d acknowledged, %d refused, %d without a known"
                + " outcome at the end, %d starts resent, %d cancels%n",
            sagasStarted,
            rate,
            sagasAcknowledged,
            sagasRefused,
            startsUnresolved,
            resends,
            cancels));
    md.append("- acknowledged sagas not ended after the drain: ")
        .append(notEndedAfterDrain.size())
        .append(
            notEndedAfterDrain.isEmpty()
                ? ""
                : " " + notEndedAfterDrain.subList(0, Math.min(10, notEndedAfterDrain.size())))
        .append("\n\n");

    md.append("## Faults\n\n| # | fault | node | at | length | cluster whole after | notes |\n");
    md.append("|---|---|---|---|---|---|---|\n");
    for (FaultInjector.Injected f : faults) {
      md.append(
          String.format(
              "| %d | %s | %s | +%s | %s | %s | %s |%n",
              f.fault().number(),
              f.fault().kind(),
              f.node() == null ? "" : f.node(),
              seconds(f.start() - startedAt),
              seconds(f.end() - f.start()),
              seconds(f.whole() - f.end()),
              String.join("; ", f.notes())));
    }

    md.append("\n## Time from fault to first saga resumed\n\n");
    md.append(
        "For a kill or a stop: from the fault to the first participant call (ledger) or journal"
            + " event of a saga in a shard the victim hosted just before it, from 1 s on (the fault"
            + " is logged just before the signal, and what the victim sent then still lands; after"
            + " that the victim cannot make either: it is dead, or frozen and then fenced). For a"
            + " stop of a node that hosted no saga shard (it had only just restarted) there is"
            + " nothing to resume: none found. For a partition: the first journal"
            + " event there by a saga incarnation (writer) other than those that wrote there in the"
            + " two minutes before (the cut-off node itself may act until it sees itself"
            + " outnumbered). For a PostgreSQL restart: from DB_START to the first journal"
            + " event.\n\n| # | fault | node | resumed after | saga |\n");
    md.append("|---|---|---|---|---|\n");
    for (Figures.Resume r : resumes) {
      md.append(
          String.format(
              "| %d | %s | %s | %s | %s |%n",
              r.fault(),
              r.kind(),
              r.node() == null ? "" : r.node(),
              r.afterMs().map(RunReport::seconds).orElse("none found"),
              r.sagaId() == null ? "" : r.sagaId()));
    }

    md.append("\n## Retry storm\n\n");
    storm.ifPresentOrElse(
        s ->
            md.append(
                String.format(
                    "Participant calls per second: before %.1f, during %.1f, after %.1f.%n%n"
                        + "The returning wave: %d sagas waiting when the storm ended came back"
                        + " from %s after it, over %s (each saga's first call after the storm;"
                        + " %d at the window's edges left out, see Figures.Wave):"
                        + " busiest 100 ms %d, mean"
                        + " %.2f, peak/mean %.2f (target <= 3: %s).%n%n"
                        + "All calls after the storm (%s window, the sagas' later steps and new"
                        + " sagas included): busiest 100 ms %d calls, mean %.2f, peak/mean %.2f.%n",
                    s.beforePerSecond(),
                    s.duringPerSecond(),
                    s.afterPerSecond(),
                    s.returning().sagas(),
                    seconds(s.returning().firstBackMs()),
                    seconds(s.returning().spanMs()),
                    s.returning().leftOut(),
                    s.returning().peak100ms(),
                    s.returning().mean100ms(),
                    s.returning().peakToMean(),
                    !s.judged()
                        ? "not judged, too few per 100 ms"
                        : s.withinTarget() ? "met" : "NOT met",
                    seconds(s.windowMs()),
                    s.afterPeak100ms(),
                    s.afterMean100ms(),
                    s.peakToMean())),
        () -> md.append("No storm in this run.\n"));

    md.append("\n## After the last fault (C7)\n\n");
    readyAfterFaults.forEach(
        (node, status) ->
            md.append("- ")
                .append(node)
                .append(": /ready ")
                .append(status)
                .append(", start ")
                .append(startsAfterFaults.getOrDefault(node, "not tried"))
                .append('\n'));

    md.append("\n## Checks")
        .append(checkerIsStub ? " (STUB checker: the real one has not landed)" : "")
        .append("\n\n```\n")
        .append(verdict == null ? "the checker did not run" : verdict)
        .append("\n```\n");
    return md.toString();
  }

  static String seconds(long ms) {
    return String.format("%.1f s", ms / 1000.0);
  }
}
