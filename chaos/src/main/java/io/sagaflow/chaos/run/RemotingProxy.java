package io.sagaflow.chaos.run;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A user-space TCP proxy in front of one node's remoting port: the other nodes dial {@code
 * listenPort} (the node's canonical port), the proxy forwards to {@code targetPort} (its bind
 * port). Artery TCP opens its own connections to the receiver's port for each direction, so {@link
 * #cut()} — close every connection and refuse new ones — stops everything the node receives from
 * the others, heartbeat replies included: both sides see each other unreachable. {@link #heal()}
 * accepts again.
 */
final class RemotingProxy implements AutoCloseable {
  private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

  private final String name;
  private final int targetPort;
  private final ServerSocket server;
  private final Set<Socket> open = ConcurrentHashMap.newKeySet();
  private final AtomicInteger accepted = new AtomicInteger();
  private volatile boolean cut;
  private volatile boolean closed;

  RemotingProxy(String name, int listenPort, int targetPort) {
    this.name = name;
    this.targetPort = targetPort;
    try {
      server = new ServerSocket();
      server.setReuseAddress(true);
      server.bind(new InetSocketAddress(LOOPBACK, listenPort), 64);
    } catch (IOException e) {
      throw new UncheckedIOException(name + ": cannot listen on " + listenPort, e);
    }
    Thread acceptor = new Thread(this::acceptLoop, name + "-accept");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** Closes every connection through the proxy and refuses new ones until {@link #heal()}. */
  void cut() {
    cut = true;
    for (Socket s : open) {
      closeQuietly(s);
    }
  }

  void heal() {
    cut = false;
  }

  boolean isCut() {
    return cut;
  }

  /** Connections accepted so far (and forwarded). */
  int accepted() {
    return accepted.get();
  }

  private void acceptLoop() {
    while (!closed) {
      Socket inbound;
      try {
        inbound = server.accept();
      } catch (IOException e) {
        if (closed) {
          return;
        }
        continue;
      }
      if (cut) {
        closeQuietly(inbound);
        continue;
      }
      Socket outbound = new Socket();
      try {
        inbound.setTcpNoDelay(true);
        outbound.setTcpNoDelay(true);
        outbound.connect(new InetSocketAddress(LOOPBACK, targetPort), 5_000);
      } catch (IOException e) {
        // The node is down (killed, restarting): the dialler sees a closed connection.
        closeQuietly(inbound);
        closeQuietly(outbound);
        continue;
      }
      open.add(inbound);
      open.add(outbound);
      accepted.incrementAndGet();
      // A cut between accept and here must not leave a pair open.
      if (cut) {
        closeQuietly(inbound);
        closeQuietly(outbound);
      }
      start(inbound, outbound, "in");
      start(outbound, inbound, "out");
    }
  }

  private void start(Socket from, Socket to, String direction) {
    Thread pump = new Thread(() -> pump(from, to), name + "-" + direction);
    pump.setDaemon(true);
    pump.start();
  }

  private void pump(Socket from, Socket to) {
    byte[] buffer = new byte[64 * 1024];
    try (InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream()) {
      int n;
      while ((n = in.read(buffer)) >= 0) {
        out.write(buffer, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // Closed by a cut, by the node or by the other side: tear the pair down below.
    } finally {
      closeQuietly(from);
      closeQuietly(to);
      open.remove(from);
      open.remove(to);
    }
  }

  private static void closeQuietly(Socket s) {
    try {
      s.close();
    } catch (IOException e) {
      // closing anyway
    }
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      // closing anyway
    }
    for (Socket s : open) {
      closeQuietly(s);
    }
  }

  @Override
  public String toString() {
    return name + "[" + server.getLocalPort() + " -> " + targetPort + (cut ? ", cut" : "") + "]";
  }
}
