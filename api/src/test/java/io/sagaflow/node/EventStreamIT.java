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
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * {@code GET /v1/events} against a real node, PostgreSQL and participant: a client that disconnects
 * mid-stream and reconnects with {@code Last-Event-ID}, to a node restarted meanwhile, receives
 * every later event exactly once, in order per saga, and together its two connections saw exactly
 * the journal's saga events.
 */
class EventStreamIT {
  private static final Duration WAIT = Duration.ofSeconds(60);

  private static final SagaDefinition<?> TRANSFER =
      SagaDefinition.builder("transfer")
          .defaultRetry(
              r ->
                  r.minBackoff(Duration.ofMillis(100)).maxBackoff(Duration.ofMillis(100)).jitter(0))
          .defaultTimeout(Duration.ofSeconds(10))
          .step(
              Step.named("debit")
                  .invoke(HttpCall.post("payments", "/debit").withBody(ctx -> ctx.input()))
                  .noCompensation())
          .step(
              Step.named("credit")
                  .invoke(HttpCall.post("payments", "/credit").withBody(ctx -> ctx.input()))
                  .noCompensation())
          .build();

  private final TestDatabase db = TestDatabase.fresh();
  private final StubParticipant stub = StubParticipant.start();
  private SagaflowNode node;

  @BeforeEach
  void startNode() {
    node = startNode(db, stub);
  }

  /** Heartbeats every 300 ms, so that a test sees some. */
  private static SagaflowNode startNode(TestDatabase db, StubParticipant stub) {
    return SagaflowNode.start(
        ConfigFactory.parseMap(Map.of("sagaflow.events.heartbeat-interval", "300ms"))
            .withFallback(TestNodes.config(stub.baseUrl())),
        TestNodes.env(db),
        List.of(TRANSFER));
  }

  @AfterEach
  void stop() {
    node.close();
    stub.close();
  }

  @Test
  void aClientThatReconnectsWithLastEventIdGetsEveryLaterEventOnceAcrossARestart() {
    // The first credits fail once each: their sagas also write a StepAttemptFailed.
    stub.on("/credit").failTimes(2, 503);
    var first = SseClient.open(node.httpPort(), "/v1/events?after=0", Map.of());
    for (int i = 1; i <= 3; i++) {
      start("before-" + i);
    }
    Eventually.until("the first client has events", WAIT, () -> first.events().size() >= 4);
    first.close();
    String lastId = first.last().orElseThrow().id();
    start("while-away-1");
    start("while-away-2");
    for (String id : List.of("before-1", "before-2", "before-3", "while-away-1", "while-away-2")) {
      TestNodes.awaitStatus(node, id, SagaStatus.COMPLETED, WAIT);
    }

    // A client still connected when its node stops: its stream ends with the node's shutdown
    // instead of holding it up, and it would resume elsewhere with Last-Event-ID.
    var connected = SseClient.open(node.httpPort(), "/v1/events", Map.of());
    node.close();
    Eventually.until("the connected client's stream ends", WAIT, connected::ended);
    assertThat(connected.completed())
        .as("the response was ended, not the connection dropped: %s", connected.dropped())
        .isTrue();
    connected.close();
    node = startNode(db, stub);

    var second = SseClient.open(node.httpPort(), "/v1/events", Map.of("Last-Event-ID", lastId));
    start("after-restart-1");
    start("after-restart-2");
    TestNodes.awaitStatus(node, "after-restart-1", SagaStatus.COMPLETED, WAIT);
    TestNodes.awaitStatus(node, "after-restart-2", SagaStatus.COMPLETED, WAIT);
    List<Long> journal = journalOrderings();
    long newest = journal.get(journal.size() - 1);
    Eventually.until(
        "the second client reaches the newest event",
        WAIT,
        () -> second.last().map(e -> e.offset() == newest).orElse(false));
    second.close();

    var received = new ArrayList<SseClient.Event>(first.events());
    received.addAll(second.events());
    assertThat(received).extracting(SseClient.Event::offset).containsExactlyElementsOf(journal);
    assertThat(second.events().get(0).offset()).isGreaterThan(Long.parseLong(lastId));
    // In order per saga: each saga's sequence numbers 1, 2, 3, ... with no gap, none twice.
    var bySaga = new LinkedHashMap<String, List<Long>>();
    for (SseClient.Event e : received) {
      var json = e.json();
      assertThat(json.get("type").asText()).isEqualTo(e.type());
      assertThat(json.get("offset").asLong()).isEqualTo(e.offset());
      assertThat(json.get("sagaType").asText()).isEqualTo("transfer");
      bySaga
          .computeIfAbsent(json.get("sagaId").asText(), k -> new ArrayList<>())
          .add(json.get("sequenceNr").asLong());
    }
    assertThat(bySaga).hasSize(7);
    bySaga.forEach(
        (saga, seqNrs) ->
            assertThat(seqNrs)
                .as(saga)
                .containsExactlyElementsOf(
                    java.util.stream.LongStream.rangeClosed(1, seqNrs.size()).boxed().toList()));
    assertThat(received).filteredOn(e -> e.type().equals("SagaStarted")).hasSize(7);
  }

  @Test
  void filtersBySagaTypeAndEventTypeAndSendsHeartbeats() {
    start("filtered-1");
    start("filtered-2");
    TestNodes.awaitStatus(node, "filtered-1", SagaStatus.COMPLETED, WAIT);
    TestNodes.awaitStatus(node, "filtered-2", SagaStatus.COMPLETED, WAIT);
    try (var completed =
            SseClient.open(
                node.httpPort(), "/v1/events?after=0&event=SagaCompleted,SagaStarted", Map.of());
        var otherType =
            SseClient.open(node.httpPort(), "/v1/events?after=0&type=no-such-type", Map.of())) {
      Eventually.until("both sagas' events", WAIT, () -> completed.events().size() == 4);
      assertThat(completed.events())
          .extracting(SseClient.Event::type)
          .containsOnly("SagaStarted", "SagaCompleted");
      Eventually.until("heartbeats", WAIT, () -> otherType.heartbeats() >= 2);
      assertThat(otherType.events()).isEmpty();
    }
  }

  @Test
  void eventsWrittenConcurrentlyByTwoNodesReachAStreamOnceEachInJournalOrder() throws Exception {
    // A second node on the same journal, writing at the same time as the first: their commits
    // interleave, so orderings commit out of order; the stream must wait for each gap to fill.
    try (SagaflowNode other = startNode(db, stub);
        var stream = SseClient.open(node.httpPort(), "/v1/events?after=0", Map.of())) {
      int perNode = 25;
      var starts = new ArrayList<java.util.concurrent.CompletableFuture<?>>();
      for (int i = 0; i < perNode; i++) {
        starts.add(start(node, "here-" + i));
        starts.add(start(other, "there-" + i));
      }
      starts.forEach(java.util.concurrent.CompletableFuture::join);
      for (int i = 0; i < perNode; i++) {
        TestNodes.awaitStatus(node, "here-" + i, SagaStatus.COMPLETED, WAIT);
        TestNodes.awaitStatus(other, "there-" + i, SagaStatus.COMPLETED, WAIT);
      }
      List<Long> journal = journalOrderings();
      long newest = journal.get(journal.size() - 1);
      Eventually.until(
          "the stream reaches the newest event",
          WAIT,
          () -> stream.last().map(e -> e.offset() == newest).orElse(false));
      assertThat(stream.events())
          .extracting(SseClient.Event::offset)
          .containsExactlyElementsOf(journal);
      assertThat(stream.events())
          .filteredOn(e -> e.type().equals("SagaCompleted"))
          .hasSize(2 * perNode);
    }
  }

  private java.util.concurrent.CompletableFuture<?> start(SagaflowNode on, String sagaId) {
    return on.engine()
        .start(sagaId, "transfer", null, new ObjectMapper().createObjectNode().put("amount", 5))
        .toCompletableFuture();
  }

  private void start(String sagaId) {
    node.engine()
        .start(sagaId, "transfer", null, new ObjectMapper().createObjectNode().put("amount", 5))
        .toCompletableFuture()
        .join();
  }

  private List<Long> journalOrderings() {
    try (var c = db.connect();
        var s = c.createStatement();
        ResultSet rows =
            s.executeQuery(
                "select ordering from event_journal where persistence_id like 'saga|%'"
                    + " order by ordering")) {
      var orderings = new ArrayList<Long>();
      while (rows.next()) {
        orderings.add(rows.getLong(1));
      }
      return orderings;
    } catch (java.sql.SQLException e) {
      throw new IllegalStateException(e);
    }
  }
}
