package io.sagaflow.persistence.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A TCP proxy in front of a database that can stop answering the way a dead network does: after
 * {@link #cutOff()} every connection it carries, and every one opened until {@link #restore()},
 * swallows what is sent to it and never answers, nor closes. Connections opened after {@link
 * #restore()} work again; the cut-off ones stay dead, as they do when a route is lost or a primary
 * fails over.
 */
public final class BlackHoleProxy implements AutoCloseable {

  private static final Pattern HOST_PORT = Pattern.compile("//([^/:?]+):(\\d+)/");

  private final InetSocketAddress target;
  private final ServerSocket server;
  private final List<Link> links = new CopyOnWriteArrayList<>();
  private volatile boolean cutOff;

  private BlackHoleProxy(InetSocketAddress target) throws IOException {
    this.target = target;
    this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread acceptor = new Thread(this::accept, "black-hole-proxy");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** A proxy in front of the server of {@code jdbcUrl} ({@code jdbc:postgresql://host:port/db}). */
  public static BlackHoleProxy inFrontOf(String jdbcUrl) throws IOException {
    Matcher m = HOST_PORT.matcher(jdbcUrl);
    if (!m.find()) {
      throw new IllegalArgumentException("No host:port in " + jdbcUrl);
    }
    return new BlackHoleProxy(new InetSocketAddress(m.group(1), Integer.parseInt(m.group(2))));
  }

  /** {@code jdbcUrl} with its host and port replaced by this proxy's. */
  public String url(String jdbcUrl) {
    return HOST_PORT.matcher(jdbcUrl).replaceFirst("//127.0.0.1:" + server.getLocalPort() + "/");
  }

  /** From now on, every connection, open or new, swallows everything and answers nothing. */
  public void cutOff() {
    cutOff = true;
    links.forEach(link -> link.dead = true);
  }

  /** Connections opened from now on reach the database again; cut-off ones stay dead. */
  public void restore() {
    cutOff = false;
  }

  @Override
  public void close() throws IOException {
    server.close();
    for (Link link : links) {
      link.close();
    }
  }

  private void accept() {
    while (!server.isClosed()) {
      try {
        Socket client = server.accept();
        Link link = new Link(client);
        link.dead = cutOff;
        links.add(link);
        if (!link.dead) {
          link.upstream = new Socket(target.getAddress(), target.getPort());
          pump(link, client.getInputStream(), link.upstream.getOutputStream());
          pump(link, link.upstream.getInputStream(), client.getOutputStream());
        } else {
          pump(link, client.getInputStream(), OutputStream.nullOutputStream());
        }
      } catch (IOException e) {
        // closed, or the database refused: the client sees its connection fail
      }
    }
  }

  private static void pump(Link link, InputStream from, OutputStream to) {
    Thread pump =
        new Thread(
            () -> {
              byte[] buffer = new byte[8192];
              try {
                int n;
                while ((n = from.read(buffer)) >= 0) {
                  if (!link.dead) { // a dead link swallows: read, never forward
                    to.write(buffer, 0, n);
                    to.flush();
                  }
                }
              } catch (IOException e) {
                // one side went away
              }
              if (!link.dead) {
                link.close();
              }
            },
            "black-hole-proxy-pump");
    pump.setDaemon(true);
    pump.start();
  }

  private static final class Link {
    final Socket client;
    volatile Socket upstream;
    volatile boolean dead;

    Link(Socket client) {
      this.client = client;
    }

    void close() {
      try {
        client.close();
        if (upstream != null) {
          upstream.close();
        }
      } catch (IOException e) {
        // already closed
      }
    }
  }
}
