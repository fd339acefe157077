package io.sagaflow.orchestrator.internal;

import io.sagaflow.orchestrator.fence.NodeFence;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import org.apache.pekko.actor.ActorSystem;
import org.apache.pekko.http.javadsl.ClientTransport;
import org.apache.pekko.http.javadsl.OutgoingConnection;
import org.apache.pekko.http.javadsl.settings.ClientConnectionSettings;
import org.apache.pekko.stream.javadsl.Flow;
import org.apache.pekko.stream.javadsl.Keep;
import org.apache.pekko.util.ByteString;

/**
 * The transport under participant connections: every chunk of bytes on its way to a participant
 * passes {@link NodeFence#check()} first, and a refusal fails the connection with nothing of the
 * chunk written.
 *
 * <p>{@link ConnectionGate} checks the fence when a call leaves for pekko-http's pool, but a call
 * still travels from there through the pool's actors (and perhaps a TCP connect) before its bytes
 * reach the socket. A node frozen in between (SIGSTOP, a long pause) wrote the request when it
 * woke, after another node had taken the saga over and maybe compensated the step. Checked here,
 * the gap left is the hop from this stage to the TCP actor's write: a freeze that lands exactly
 * there still sends. The call fails as {@code not sent} (retryable) since the participant saw none
 * of it.
 */
final class FencedTransport extends ClientTransport {

  private final NodeFence fence;
  private final ClientTransport underlying;

  FencedTransport(NodeFence fence, ClientTransport underlying) {
    this.fence = Objects.requireNonNull(fence, "fence");
    this.underlying = Objects.requireNonNull(underlying, "underlying");
  }

  /** The fence over plain TCP, as pekko-http's pool uses by default. */
  static FencedTransport overTcp(NodeFence fence) {
    return new FencedTransport(fence, ClientTransport.TCP());
  }

  @Override
  public Flow<ByteString, ByteString, CompletionStage<OutgoingConnection>> connectTo(
      String host, int port, ClientConnectionSettings settings, ActorSystem system) {
    return Flow.of(ByteString.class)
        .map(this::mayLeave)
        .viaMat(underlying.connectTo(host, port, settings, system), Keep.right());
  }

  private ByteString mayLeave(ByteString bytes) {
    fence.check();
    return bytes;
  }
}
