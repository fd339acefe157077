package io.sagaflow.node.oldjournal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** The node's HTTP API as the generator and the test use it. */
final class NodeApi {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final HttpClient http = HttpClient.newHttpClient();
  private final String base;

  NodeApi(int port) {
    this.base = "http://127.0.0.1:" + port;
  }

  /** An answer: its status and its body as JSON (a problem document when not 2xx). */
  record Answer(int status, JsonNode body) {}

  Answer get(String path) {
    return send(request(path).GET());
  }

  Answer post(String path, String jsonBody, String idempotencyKey) {
    var request =
        request(path)
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(jsonBody));
    if (idempotencyKey != null) {
      request.header("Idempotency-Key", idempotencyKey);
    }
    return send(request);
  }

  /** {@code GET /v1/sagas/{id}}: the saga folded from its journal; null when there is none. */
  JsonNode saga(String id) {
    Answer answer = get("/v1/sagas/" + id);
    return answer.status() == 200 ? answer.body() : null;
  }

  /** {@code GET /v1/sagas/{id}/events}: the saga's persisted history, oldest first. */
  List<JsonNode> events(String id) {
    Answer answer = get("/v1/sagas/" + id + "/events");
    if (answer.status() != 200) {
      throw new AssertionError("GET /v1/sagas/" + id + "/events answered " + answer);
    }
    var events = new ArrayList<JsonNode>();
    answer.body().get("events").forEach(events::add);
    return events;
  }

  /** The step named {@code name} of a saga's view. */
  static JsonNode step(JsonNode saga, String name) {
    for (JsonNode step : saga.get("steps")) {
      if (step.get("name").asText().equals(name)) {
        return step;
      }
    }
    throw new AssertionError("no step " + name + " in " + saga);
  }

  /** The body as JSON; one that is not JSON as a text node, so that a failure can show it. */
  private static JsonNode parse(String body) {
    if (body.isEmpty()) {
      return JSON.nullNode();
    }
    try {
      return JSON.readTree(body);
    } catch (IOException e) {
      return JSON.getNodeFactory().textNode(body);
    }
  }

  private HttpRequest.Builder request(String path) {
    return HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
  }

  private Answer send(HttpRequest.Builder request) {
    try {
      HttpResponse<String> response =
          http.send(request.build(), HttpResponse.BodyHandlers.ofString());
      return new Answer(response.statusCode(), parse(response.body()));
    } catch (IOException e) {
      throw new IllegalStateException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
