package io.sagaflow.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A {@link BenchParticipant} in a separate JVM, started from this JVM's classpath (the jar, or the
 * test classpath) and stopped by {@link #close()}.
 */
final class ParticipantProcess implements AutoCloseable {
  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(30);
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Process process;
  private final int port;
  private final Thread killer;
  private final HttpClient http = HttpClient.newHttpClient();

  private ParticipantProcess(Process process, int port, Thread killer) {
    this.process = process;
    this.port = port;
    this.killer = killer;
  }

  /** Starts the participant on a free port and waits until it listens. */
  static ParticipantProcess start() {
    String java =
        ProcessHandle.current()
            .info()
            .command()
            .orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    List<String> command = new ArrayList<>();
    command.add(java);
    command.add("-Xmx512m");
    command.add("-Dsun.net.httpserver.nodelay=true");
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add(BenchParticipant.class.getName());
    command.add("0");
    Process process;
    try {
      process =
          new ProcessBuilder(command)
              .redirectError(ProcessBuilder.Redirect.INHERIT)
              .redirectInput(ProcessBuilder.Redirect.PIPE)
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("could not start the participant JVM: " + command, e);
    }
    // If this JVM is stopped (Ctrl+C), the participant must not outlive it.
    Thread killer = new Thread(process::destroyForcibly, "bench-participant-stop");
    Runtime.getRuntime().addShutdownHook(killer);
    var reader =
        new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    CompletableFuture<Integer> ready = new CompletableFuture<>();
    Thread drain =
        new Thread(
            () -> {
              try {
                String line;
                while ((line = reader.readLine()) != null) {
                  if (!ready.isDone() && line.startsWith(BenchParticipant.READY)) {
                    ready.complete(
                        Integer.parseInt(line.substring(BenchParticipant.READY.length()).trim()));
                  }
                }
                ready.completeExceptionally(
                    new IllegalStateException("the participant JVM exited before listening"));
              } catch (IOException | RuntimeException e) {
                ready.completeExceptionally(e);
              }
            },
            "bench-participant-stdout");
    drain.setDaemon(true);
    drain.start();
    try {
      int port = ready.get(STARTUP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      return new ParticipantProcess(process, port, killer);
    } catch (Exception e) {
      process.destroyForcibly();
      Runtime.getRuntime().removeShutdownHook(killer);
      throw new IllegalStateException("the bench participant did not start: " + e.getMessage(), e);
    }
  }

  String baseUrl() {
    return "http://127.0.0.1:" + port;
  }

  /** The participant JVM's CPU time so far, in seconds; NaN when the OS does not tell. */
  double cpuSeconds() {
    return process.info().totalCpuDuration().map(d -> d.toNanos() / 1e9).orElse(Double.NaN);
  }

  /** What the participant has counted so far. */
  Stats stats() {
    try {
      HttpResponse<String> response =
          http.send(
              HttpRequest.newBuilder(URI.create(baseUrl() + "/stats"))
                  .timeout(Duration.ofSeconds(10))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      JsonNode json = JSON.readTree(response.body());
      var calls = new LinkedHashMap<String, Long>();
      json.get("calls")
          .fields()
          .forEachRemaining(e -> calls.put(e.getKey(), e.getValue().asLong()));
      return new Stats(
          calls,
          json.get("keys").asLong(),
          json.get("repeatedKeys").asLong(),
          json.get("missingKeys").asLong());
    } catch (IOException e) {
      throw new UncheckedIOException("could not read the participant's stats", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    }
  }

  /** Calls per path, distinct idempotency keys, keys seen again, calls without a key. */
  record Stats(Map<String, Long> calls, long keys, long repeatedKeys, long missingKeys) {}

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    try {
      Runtime.getRuntime().removeShutdownHook(killer);
    } catch (IllegalStateException e) {
      // The JVM is already shutting down; the hook runs anyway and finds the process gone.
    }
  }
}
