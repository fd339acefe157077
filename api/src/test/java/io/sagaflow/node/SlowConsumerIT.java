package io.sagaflow.node;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.dsl.HttpCall;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.dsl.Step;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.orchestrator.testing.StubParticipant;
import io.sagaflow.persistence.testing.TestDatabase;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A client of {@code GET /v1/events} that stops reading, over a real TCP connection with small
 * socket buffers: once the node's bounded buffer is full and nothing is taken for the timeout, the
 * client is disconnected, and when it reads again its last event says why.
 */
class SlowConsumerIT {
  private static final Duration WAIT = Duration.ofSeconds(60);

  private static final SagaDefinition<?> TRANSFER =
      SagaDefinition.builder("transfer")
          .defaultTimeout(Duration.ofSeconds(10))
          .step(
              Step.named("debit")
                  .invoke(HttpCall.post("payments", "/debit").withBody(ctx -> ctx.input()))
                  .noCompensation())
          .build();

  private final TestDatabase db = TestDatabase.fresh();
  private final StubParticipant stub = StubParticipant.start();
  private SagaflowNode node;

  @BeforeEach
  void startNode() {
    var settings = new HashMap<String, Object>();
    settings.put("sagaflow.events.buffer-size", 8);
    settings.put("sagaflow.events.slow-consumer-timeout", "1s");
    settings.put("pekko.http.server.socket-options.so-send-buffer-size", "4k");
    node =
        SagaflowNode.start(
            ConfigFactory.parseMap(settings).withFallback(TestNodes.config(stub.baseUrl())),
            TestNodes.env(db),
            List.of(TRANSFER));
  }

  @AfterEach
  void stop() {
    node.close();
    stub.close();
  }

  @Test
  void aClientThatStopsReadingIsDisconnectedWithTheReason() throws Exception {
    var starts = new java.util.ArrayList<CompletableFuture<?>>();
    for (int i = 0; i < 150; i++) {
      starts.add(
          node.engine()
              .start(
                  "slow-" + i, "transfer", null, new ObjectMapper().createObjectNode().put("n", i))
              .toCompletableFuture());
    }
    starts.forEach(CompletableFuture::join);
    TestNodes.awaitStatus(node, "slow-149", SagaStatus.COMPLETED, WAIT);

    try (var socket = new Socket()) {
      socket.setReceiveBufferSize(1024);
      socket.connect(new InetSocketAddress("127.0.0.1", node.httpPort()));
      socket
          .getOutputStream()
          .write(
              ("GET /v1/events?after=0 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      + "Accept: text/event-stream\r\n\r\n")
                  .getBytes(StandardCharsets.US_ASCII));
      // Reads nothing: the node's buffer and the sockets' fill up, and the node gives up on it.
      Eventually.until(
          "the node disconnects the client",
          WAIT,
          () -> slowConsumers().contains("sagaflow_event_stream_slow_consumers_total 1.0"));
      String received = readUntil(socket, "slow consumer", Duration.ofSeconds(30));
      assertThat(received).contains("HTTP/1.1 200").contains("text/event-stream");
      assertThat(received).containsPattern("event: ?disconnected");
      assertThat(received).contains("reconnect with Last-Event-ID");
      // Cut off before the end of the journal's 300 events.
      assertThat(received.split("\"sagaId\"", -1).length - 1).isLessThan(300);
    }
  }

  private String slowConsumers() {
    try {
      return HttpClient.newHttpClient()
          .send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + node.httpPort() + "/metrics"))
                  .build(),
              HttpResponse.BodyHandlers.ofString())
          .body();
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** What the socket yields until {@code marker} has come and a blank line after it. */
  private static String readUntil(Socket socket, String marker, Duration deadline)
      throws Exception {
    socket.setSoTimeout(1000);
    InputStream in = socket.getInputStream();
    var bytes = new ByteArrayOutputStream();
    byte[] chunk = new byte[8192];
    Instant end = Instant.now().plus(deadline);
    while (Instant.now().isBefore(end)) {
      try {
        int n = in.read(chunk);
        if (n < 0) {
          break;
        }
        bytes.write(chunk, 0, n);
        String text = bytes.toString(StandardCharsets.UTF_8);
        int at = text.indexOf(marker);
        if (at >= 0 && text.indexOf("\n\n", at) >= 0) {
          break;
        }
      } catch (SocketTimeoutException e) {
        // keep reading until the deadline
      }
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }
}
