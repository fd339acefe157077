package io.sagaflow.chaos.run;

import com.fasterxml.jackson.databind.JsonNode;
import io.sagaflow.chaos.format.Jsonl;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The participants' JVM (alpha, beta and gamma on one port), its output in {@code
 * <run-dir>/participant.log}; stopped with SIGTERM.
 */
final class ParticipantJvm implements AutoCloseable {
  private static final Pattern LISTENING =
      Pattern.compile("chaos participant listening on port (\\d+)");
  private static final Duration STARTUP_TIMEOUT = Duration.ofSeconds(90);

  private final Process process;
  private final int port;
  private final HttpClient http;
  private final Thread killer;

  private ParticipantJvm(Process process, int port, HttpClient http, Thread killer) {
    this.process = process;
    this.killer = killer;
    this.port = port;
    this.http = http;
  }

  static ParticipantJvm start(
      List<String> javaCommand,
      long seed,
      Path ledger,
      Optional<String> mix,
      Path log,
      HttpClient http) {
    var command = new ArrayList<>(javaCommand);
    command.addAll(Collaborators.participantMain());
    command.addAll(
        List.of("--port", "0", "--seed", Long.toString(seed), "--ledger", ledger.toString()));
    mix.ifPresent(m -> command.addAll(List.of("--mix", m)));
    Process process;
    try {
      process = new ProcessBuilder(command).redirectErrorStream(true).start();
    } catch (IOException e) {
      throw new UncheckedIOException("could not start the participant JVM: " + command, e);
    }
    // Ctrl+C of the runner: the participant must not outlive it.
    Thread killer = new Thread(process::destroyForcibly, "participant-stop");
    Runtime.getRuntime().addShutdownHook(killer);
    CompletableFuture<Integer> listening = new CompletableFuture<>();
    Thread pump =
        new Thread(
            () -> {
              try (var in =
                      new BufferedReader(
                          new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                  var out = Files.newBufferedWriter(log, StandardCharsets.UTF_8)) {
                String line;
                while ((line = in.readLine()) != null) {
                  out.write(line);
                  out.newLine();
                  out.flush();
                  Matcher m = LISTENING.matcher(line);
                  if (!listening.isDone() && m.find()) {
                    listening.complete(Integer.parseInt(m.group(1)));
                  }
                }
              } catch (IOException e) {
                // the process is gone
              }
              listening.completeExceptionally(
                  new IllegalStateException("the participant JVM exited before listening"));
            },
            "participant-output");
    pump.setDaemon(true);
    pump.start();
    try {
      int port = listening.get(STARTUP_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
      return new ParticipantJvm(process, port, http, killer);
    } catch (Exception e) {
      process.destroyForcibly();
      throw new IllegalStateException(
          "the participant did not start (see " + log + "): " + e.getMessage(), e);
    }
  }

  /** http://127.0.0.1:N, the URL of alpha, beta and gamma. */
  String url() {
    return "http://127.0.0.1:" + port;
  }

  boolean alive() {
    return process.isAlive();
  }

  /** Every participant answers 503 for {@code seconds}. */
  void storm(long seconds) {
    HttpResponse<String> response =
        send(
            HttpRequest.newBuilder(URI.create(url() + "/control/storm?seconds=" + seconds))
                .timeout(Duration.ofSeconds(10))
                .POST(HttpRequest.BodyPublishers.noBody())
                .build());
    if (response.statusCode() / 100 != 2) {
      throw new IllegalStateException(
          "POST /control/storm answered " + response.statusCode() + " " + response.body());
    }
  }

  /** {@code GET /control/stats}, as the participant tells it. */
  JsonNode stats() {
    HttpResponse<String> response =
        send(
            HttpRequest.newBuilder(URI.create(url() + "/control/stats"))
                .timeout(Duration.ofSeconds(10))
                .build());
    try {
      return Jsonl.MAPPER.readTree(response.body());
    } catch (IOException e) {
      throw new UncheckedIOException("GET /control/stats: not JSON: " + response.body(), e);
    }
  }

  private HttpResponse<String> send(HttpRequest request) {
    try {
      return http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(request.uri() + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    process.toHandle().destroy();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
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
      // the JVM is exiting: the hook finds the process gone
    }
  }
}
