package io.sagaflow.sagas;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;

/**
 * The production jar (the one the container image ships) holds the node and nothing of the
 * benchmark: no bench classes, no HdrHistogram, no bench command. The benchmark has its own module
 * and jar ({@code bench/target/sagaflow-bench.jar}); this catches it creeping back, e.g. through a
 * dependency on {@code sagaflow-bench} or a class put back under {@code sagas/}.
 *
 * <p>Builds nothing: failsafe runs it in {@code integration-test}, after {@code package} has built
 * {@code target/sagaflow.jar}.
 */
class ProductionJarIT {

  private static final Path MODULE =
      Path.of(System.getProperty("basedir", ".")).toAbsolutePath().normalize();
  private static final Path JAR = MODULE.resolve("target/sagaflow.jar");

  /** Entry prefixes of the benchmark: its package (now and before it moved) and HdrHistogram. */
  private static final List<String> BENCH_PREFIXES =
      List.of(
          "io/sagaflow/bench/",
          "io/sagaflow/sagas/bench/",
          "org/HdrHistogram/",
          "META-INF/maven/org.hdrhistogram/",
          "META-INF/maven/io.sagaflow/sagaflow-bench/");

  @Test
  void theJarHoldsNoBenchmarkAndNoHdrHistogram() throws IOException {
    assertThat(JAR)
        .as(
            "the runnable jar; `mvn package` builds it before failsafe runs this test"
                + " (run `mvn -B -DskipTests package` first when running the test on its own)")
        .isRegularFile();
    List<String> entries;
    try (JarFile jar = new JarFile(JAR.toFile())) {
      entries = jar.stream().map(ZipEntry::getName).toList();
    }
    assertThat(List.of("io/sagaflow/sagas/Main.class", "io/sagaflow/node/SagaflowNode.class"))
        .as("the node's classes in %s (a sanity check that this is the shaded jar)", JAR)
        .allMatch(entries::contains);
    assertThat(entries.stream().filter(name -> BENCH_PREFIXES.stream().anyMatch(name::startsWith)))
        .as("entries of the benchmark or its HdrHistogram in %s", JAR)
        .isEmpty();
  }

  @Test
  void theUsageListsNoBenchCommand() throws Exception {
    Run help = runJar("--help");
    assertThat(help.exit()).as("exit of --help; output:\n%s", help.output()).isZero();
    assertThat(help.output())
        .contains("usage: java -jar sagaflow.jar")
        .contains("node", "postgres", "participants")
        .doesNotContainIgnoringCase("bench");
  }

  @Test
  void benchIsAnUnknownCommand() throws Exception {
    for (String command : List.of("bench", "bench-waiting")) {
      Run run = runJar(command, "--help");
      assertThat(run.exit())
          .as("exit of `%s --help`; output:\n%s", command, run.output())
          .isEqualTo(2);
      assertThat(run.output()).contains("unknown command '" + command + "'");
    }
  }

  private record Run(int exit, String output) {}

  /** Runs the jar with {@code args}; returns its exit code and its stdout and stderr together. */
  private static Run runJar(String... args) throws IOException, InterruptedException {
    String java =
        ProcessHandle.current()
            .info()
            .command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    List<String> command = new ArrayList<>(List.of(java, "-jar", JAR.toString()));
    command.addAll(List.of(args));
    Path output = Files.createTempFile("production-jar-", ".out");
    try {
      Process process =
          new ProcessBuilder(command)
              .redirectErrorStream(true)
              .redirectOutput(output.toFile())
              .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
              .start();
      if (!process.waitFor(60, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor();
        throw new AssertionError(
            "`java -jar sagaflow.jar " + String.join(" ", args) + "` did not exit in 60 s");
      }
      return new Run(process.exitValue(), Files.readString(output, StandardCharsets.UTF_8));
    } finally {
      Files.deleteIfExists(output);
    }
  }
}
