package io.sagaflow.chaos.participant;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Real HTTP calls to a participant, as the engine makes them. */
public final class Calls {
  private static final HttpClient CLIENT =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

  /** A status and body; status 0 when the connection closed without an answer. */
  public record Reply(int status, String body) {}

  private Calls() {}

  public static Reply forward(int port, String sagaId, String participant, String step) {
    return post(port, "/" + participant + "/" + step, sagaId + "/" + step);
  }

  public static Reply undo(int port, String sagaId, String participant, String step) {
    return post(
        port, "/" + participant + "/" + step + "/undo", sagaId + "/" + step + "/compensation");
  }

  /** A forward call carrying {@code Saga-Attempt: attempt}, as the engine's retries do. */
  public static Reply forward(
      int port, String sagaId, String participant, String step, int attempt) {
    return send(
        postRequest(port, "/" + participant + "/" + step, sagaId + "/" + step)
            .header("Saga-Attempt", Integer.toString(attempt))
            .build());
  }

  public static Reply post(int port, String path, String key) {
    return send(postRequest(port, path, key).build());
  }

  private static HttpRequest.Builder postRequest(int port, String path, String key) {
    return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
        .header("Idempotency-Key", key)
        .header("Content-Type", "application/json")
        .timeout(Duration.ofSeconds(10))
        .POST(HttpRequest.BodyPublishers.ofString("{}"));
  }

  public static Reply get(int port, String path) {
    return send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET().build());
  }

  public static Reply postControl(int port, String pathAndQuery) {
    return send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + pathAndQuery))
            .POST(HttpRequest.BodyPublishers.noBody())
            .build());
  }

  private static Reply send(HttpRequest request) {
    try {
      HttpResponse<String> r = CLIENT.send(request, HttpResponse.BodyHandlers.ofString());
      return new Reply(r.statusCode(), r.body());
    } catch (IOException e) {
      return new Reply(0, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError(e);
    }
  }
}
