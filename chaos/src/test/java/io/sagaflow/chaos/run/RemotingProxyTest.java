package io.sagaflow.chaos.run;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class RemotingProxyTest {
  private ServerSocket echo;
  private RemotingProxy proxy;
  private int proxyPort;

  @BeforeEach
  void start() throws IOException {
    echo = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
    Thread server =
        new Thread(
            () -> {
              while (!echo.isClosed()) {
                try {
                  Socket s = echo.accept();
                  Thread t =
                      new Thread(
                          () -> {
                            try (s) {
                              s.getInputStream().transferTo(s.getOutputStream());
                            } catch (IOException e) {
                              // closed
                            }
                          });
                  t.setDaemon(true);
                  t.start();
                } catch (IOException e) {
                  return;
                }
              }
            });
    server.setDaemon(true);
    server.start();
    proxyPort = ChaosCluster.freePorts(1)[0];
    proxy = new RemotingProxy("test", proxyPort, echo.getLocalPort());
  }

  @AfterEach
  void stop() throws IOException {
    proxy.close();
    echo.close();
  }

  @Test
  void forwardsBothWays() throws IOException {
    try (Socket s = connect()) {
      assertThat(roundTrip(s, "ping")).isEqualTo("ping");
    }
  }

  @Test
  void cutClosesOpenConnectionsAndRefusesNewOnesUntilHealed() throws IOException {
    try (Socket open = connect()) {
      assertThat(roundTrip(open, "before")).isEqualTo("before");

      proxy.cut();

      assertThat(open.getInputStream().read())
          .as("the open connection, closed by the cut")
          .isEqualTo(-1);
      try (Socket during = connect()) {
        assertThat(during.getInputStream().read())
            .as("a new connection, closed at once")
            .isEqualTo(-1);
      }
    }

    proxy.heal();

    try (Socket after = connect()) {
      assertThat(roundTrip(after, "after")).isEqualTo("after");
    }
  }

  private Socket connect() throws IOException {
    Socket s = new Socket(InetAddress.getLoopbackAddress(), proxyPort);
    s.setSoTimeout((int) Duration.ofSeconds(10).toMillis());
    return s;
  }

  private static String roundTrip(Socket s, String text) throws IOException {
    s.getOutputStream().write(text.getBytes());
    s.getOutputStream().flush();
    InputStream in = s.getInputStream();
    byte[] buffer = new byte[text.length()];
    int read = 0;
    while (read < buffer.length) {
      int n = in.read(buffer, read, buffer.length - read);
      if (n < 0) {
        break;
      }
      read += n;
    }
    return new String(buffer, 0, read);
  }
}
