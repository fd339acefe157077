package io.sagaflow.node;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A Server-Sent Events client for tests, over a real HTTP connection: reads the stream on its own
 * thread and keeps every event with data (and counts heartbeats, events without data) until {@link
 * #close()} drops the connection.
 */
final class SseClient implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One event as the client parsed it. */
  record Event(String id, String type, String data) {
    JsonNode json() {
      try {
        return JSON.readTree(data);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    long offset() {
      return Long.parseLong(id);
    }
  }

  // Held: a java.net.http client that becomes unreachable closes its connections.
  private final HttpClient client;
  private final InputStream body;
  private final List<Event> events = new ArrayList<>();
  private int heartbeats;
  private boolean closed;
  private volatile boolean completed;
  private volatile IOException dropped;
  private final Thread reader;

  private SseClient(HttpClient client, InputStream body) {
    this.client = client;
    this.body = body;
    this.reader = new Thread(this::read, "sse-client");
    reader.setDaemon(true);
    reader.start();
  }

  /** Opens {@code path} (with its query) on 127.0.0.1:{@code port} with these headers. */
  static SseClient open(int port, String path, Map<String, String> headers) {
    var request =
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
            .header("Accept", "text/event-stream");
    headers.forEach(request::header);
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    try {
      HttpResponse<InputStream> response =
          client.send(request.build(), HttpResponse.BodyHandlers.ofInputStream());
      if (response.statusCode() != 200) {
        String text = new String(response.body().readAllBytes(), StandardCharsets.UTF_8);
        throw new IllegalStateException(
            "GET " + path + " answered " + response.statusCode() + " " + text);
      }
      return new SseClient(client, response.body());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private void read() {
    try (var lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
      String id = null;
      String type = null;
      StringBuilder data = null;
      boolean comment = false;
      for (String line; (line = lines.readLine()) != null; ) {
        if (line.isEmpty()) {
          if (data != null && !data.isEmpty()) {
            add(new Event(id, type, data.toString()));
          } else if (comment || data != null) {
            // A comment, or an event without data, which EventSource does not dispatch: what
            // heartbeats are.
            synchronized (this) {
              heartbeats++;
            }
          }
          id = null;
          type = null;
          data = null;
          comment = false;
        } else if (line.startsWith(":")) {
          comment = true;
        } else if (line.startsWith("id:")) {
          id = line.substring(3).trim();
        } else if (line.startsWith("event:")) {
          type = line.substring(6).trim();
        } else if (line.startsWith("data:")) {
          String value = line.substring(5);
          value = value.startsWith(" ") ? value.substring(1) : value;
          data = data == null ? new StringBuilder(value) : data.append('\n').append(value);
        }
      }
      completed = true;
    } catch (IOException e) {
      // The connection was dropped: by close(), or by the node.
      dropped = e;
    }
  }

  private synchronized void add(Event event) {
    if (!closed) {
      events.add(event);
    }
  }

  /** The events received so far. */
  synchronized List<Event> events() {
    return List.copyOf(events);
  }

  /** Whether the stream has ended: the node completed it or dropped the connection. */
  boolean ended() {
    return !reader.isAlive();
  }

  /** Whether the node ended the response properly, rather than dropping the connection. */
  boolean completed() {
    return completed;
  }

  /** How the connection was dropped, if it was. */
  String dropped() {
    return dropped == null ? "no" : dropped + " caused by " + dropped.getCause();
  }

  synchronized int heartbeats() {
    return heartbeats;
  }

  synchronized Optional<Event> last() {
    return events.isEmpty() ? Optional.empty() : Optional.of(events.get(events.size() - 1));
  }

  /** Drops the connection; events that arrive later are not kept. */
  @Override
  public void close() {
    synchronized (this) {
      closed = true;
    }
    try {
      body.close();
    } catch (IOException e) {
      // closed either way
    }
  }
}
