package io.sagaflow.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.http.javadsl.model.sse.ServerSentEvent;
import org.apache.pekko.stream.javadsl.AsPublisher;
import org.apache.pekko.stream.javadsl.Sink;
import org.apache.pekko.stream.javadsl.Source;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/** The event stream's guard: heartbeats, and the bounded buffer a slow client is cut off at. */
class EventStreamTest {
  private static final EventStreamSettings SETTINGS =
      new EventStreamSettings(Duration.ofMillis(200), 4, Duration.ofMillis(300), 10);

  private static ActorSystem<Void> system;

  @BeforeAll
  static void start() {
    system = ActorSystem.create(Behaviors.empty(), "event-stream-test");
  }

  @AfterAll
  static void stop() {
    system.terminate();
  }

  private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
  private final EventStream stream = new EventStream(null, SETTINGS, new ObjectMapper(), meters);

  @Test
  void aClientThatTakesNothingIsDisconnectedWithTheReasonAsItsLastEvent() throws Exception {
    var slow = new Client();
    stream
        .guarded(Source.repeat(event("2")))
        .runWith(Sink.asPublisher(AsPublisher.WITHOUT_FANOUT), system)
        .subscribe(slow);
    slow.request(2);
    assertThat(slow.next().getData()).isEqualTo("e");
    assertThat(slow.next().getData()).isEqualTo("e");
    // No demand for longer than the timeout, with the buffer full.
    Thread.sleep(SETTINGS.slowConsumerTimeout().multipliedBy(3).toMillis());
    slow.request(100);
    ServerSentEvent last;
    do {
      last = slow.next();
    } while (!last.getEventType().equals(Optional.of(EventStream.DISCONNECTED)));
    assertThat(last.getData()).contains("slow consumer").contains("Last-Event-ID");
    assertThat(slow.completed.poll(5, TimeUnit.SECONDS)).isTrue();
    assertThat(meters.get("sagaflow.event.stream.slow.consumers").counter().count()).isEqualTo(1);
  }

  @Test
  void aQuietStreamSendsHeartbeats() throws Exception {
    var client = new Client();
    stream
        .guarded(Source.never())
        .runWith(Sink.asPublisher(AsPublisher.WITHOUT_FANOUT), system)
        .subscribe(client);
    client.request(2);
    assertThat(client.next().getData()).isEmpty();
    assertThat(client.next().getData()).isEmpty();
    client.cancel();
  }

  private static ServerSentEvent event(String id) {
    return ServerSentEvent.create(
        "e", Optional.of("StepSucceeded"), Optional.of(id), OptionalInt.empty());
  }

  /** A subscriber that requests only when told to. */
  private static final class Client implements Subscriber<ServerSentEvent> {
    private final BlockingQueue<ServerSentEvent> received = new LinkedBlockingQueue<>();
    final BlockingQueue<Boolean> completed = new LinkedBlockingQueue<>();
    private volatile Subscription subscription;
    private final java.util.concurrent.CountDownLatch subscribed =
        new java.util.concurrent.CountDownLatch(1);

    @Override
    public void onSubscribe(Subscription s) {
      subscription = s;
      subscribed.countDown();
    }

    @Override
    public void onNext(ServerSentEvent event) {
      received.add(event);
    }

    @Override
    public void onError(Throwable t) {
      completed.add(false);
    }

    @Override
    public void onComplete() {
      completed.add(true);
    }

    void request(long n) throws InterruptedException {
      assertThat(subscribed.await(5, TimeUnit.SECONDS)).isTrue();
      subscription.request(n);
    }

    void cancel() {
      subscription.cancel();
    }

    ServerSentEvent next() throws InterruptedException {
      ServerSentEvent event = received.poll(5, TimeUnit.SECONDS);
      assertThat(event).as("an event within 5 s").isNotNull();
      return event;
    }
  }
}
