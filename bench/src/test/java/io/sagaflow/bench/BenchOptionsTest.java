package io.sagaflow.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class BenchOptionsTest {

  @Test
  void theIssuesCommandLineParses() throws Exception {
    BenchOptions o =
        BenchOptions.parse(
            "--sagas",
            "20000",
            "--concurrency",
            "64",
            "--steps",
            "3",
            "--participants",
            "local",
            "--fail-at",
            "0");

    assertThat(o.openLoop()).isFalse();
    assertThat(o.measuredSagas()).isEqualTo(20000);
    assertThat(o.concurrency()).isEqualTo(64);
    assertThat(o.participants()).isEqualTo(BenchOptions.Participants.LOCAL);
    assertThat(o.warmup()).isEqualTo(50_000);
  }

  @Test
  void localStepsOnTheSagasThreadAreTheirOwnChoice() throws Exception {
    var o = BenchOptions.parse("--participants", "local-nonblocking");

    assertThat(o.participants()).isEqualTo(BenchOptions.Participants.LOCAL_NONBLOCKING);
    assertThat(o.participants()).hasToString("local-nonblocking");
  }

  @Test
  void aTimelineIsWrittenOnlyWhereAsked() throws Exception {
    assertThat(BenchOptions.parse().timeline()).isEmpty();
    assertThat(BenchOptions.parse("--timeline", "/tmp/t.csv").timeline())
        .contains(java.nio.file.Path.of("/tmp/t.csv"));
    assertThatThrownBy(() -> BenchOptions.parse("--timeline"))
        .hasMessageContaining("--timeline needs a value");
  }

  @Test
  void anOpenLoopRunsRateTimesDurationSagas() throws Exception {
    BenchOptions o = BenchOptions.parse("--rate=1000", "--duration=30", "--participants=http");

    assertThat(o.openLoop()).isTrue();
    assertThat(o.measuredSagas()).isEqualTo(30000);
    assertThat(o.participants()).isEqualTo(BenchOptions.Participants.HTTP);
  }

  @Test
  void anOpenLoopLeadsInAtItsRateUnlessToldNotTo() throws Exception {
    assertThat(BenchOptions.parse("--rate", "1000").leadInSeconds()).isEqualTo(10);
    assertThat(BenchOptions.parse("--rate", "1000", "--lead-in", "3").leadInSeconds()).isEqualTo(3);
    assertThat(BenchOptions.parse("--rate", "1000", "--lead-in", "0").leadInSeconds()).isZero();
    assertThat(BenchOptions.parse("--sagas", "100").leadInSeconds()).isZero();
    assertThat(BenchOptions.parse("--rate", "1000").describe()).contains("10 s lead-in");
    assertThat(BenchOptions.parse("--sagas", "100").describe()).doesNotContain("lead-in");
  }

  @Test
  void badCommandLinesAreRefusedWithAReason() {
    assertThatThrownBy(() -> BenchOptions.parse("--steps", "3", "--fail-at", "4"))
        .hasMessageContaining("--fail-at 4 is beyond the last step");
    assertThatThrownBy(() -> BenchOptions.parse("--sagas", "0"))
        .hasMessageContaining("--sagas must be between 1");
    assertThatThrownBy(() -> BenchOptions.parse("--sagas", "many"))
        .hasMessageContaining("whole number");
    assertThatThrownBy(() -> BenchOptions.parse("--participants", "grpc"))
        .hasMessageContaining("local, local-nonblocking or http");
    assertThatThrownBy(() -> BenchOptions.parse("--rate", "100", "--sagas", "5"))
        .hasMessageContaining("--sagas is for the closed loop");
    assertThatThrownBy(() -> BenchOptions.parse("--duration", "5"))
        .hasMessageContaining("needs --rate");
    assertThatThrownBy(() -> BenchOptions.parse("--lead-in", "5"))
        .hasMessageContaining("--lead-in needs --rate");
    assertThatThrownBy(() -> BenchOptions.parse("--rate", "10", "--lead-in", "-1"))
        .hasMessageContaining("--lead-in must be between 0");
    assertThatThrownBy(() -> BenchOptions.parse("--concurrency"))
        .hasMessageContaining("needs a value");
    assertThatThrownBy(() -> BenchOptions.parse("--frobnicate")).hasMessageContaining("unknown");
  }

  @Test
  void badArgumentsPrintTheUsageAndExitWithTwo() {
    var out = new ByteArrayOutputStream();
    var err = new ByteArrayOutputStream();

    int code = Bench.run(new String[] {"--fail-at", "-1"}, print(out), print(err));

    assertThat(code).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8))
        .contains("--fail-at must be between 0")
        .contains("Usage: java -jar sagaflow-bench.jar bench");
  }

  @Test
  void helpPrintsTheUsageAndExitsWithZero() {
    var out = new ByteArrayOutputStream();

    int code = Bench.run(new String[] {"--help"}, print(out), print(new ByteArrayOutputStream()));

    assertThat(code).isZero();
    assertThat(out.toString(StandardCharsets.UTF_8)).contains("--participants P");
  }

  @Test
  void theExpectedJournalOfARejectedSagaCompensatesNewestFirst() {
    var saga = new SyntheticSaga(4, 3, BenchOptions.Participants.LOCAL);

    assertThat(saga.expectedEvents())
        .containsExactly(
            "SagaStarted",
            "StepSucceeded(step-1)",
            "StepSucceeded(step-2)",
            "StepFailed(step-3)",
            "StepCompensated(step-2)",
            "StepCompensated(step-1)");
  }

  private static PrintStream print(ByteArrayOutputStream bytes) {
    return new PrintStream(bytes, true, StandardCharsets.UTF_8);
  }
}
