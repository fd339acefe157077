package io.sagaflow.api;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import javax.net.ssl.SSLSession;

/**
 * HTTP/1.1 over a plain socket, for requests {@link HttpClient} will not send: a body shorter than
 * its {@code Content-Length}. The answer comes back as an {@link HttpResponse}, so that it can be
 * checked like any other.
 */
final class RawHttp {
  private RawHttp() {}

  /**
   * Sends the request head and {@code body} (which may be shorter than the head announces), then
   * reads one answer with a {@code Content-Length} (or up to the end of the connection).
   */
  static HttpResponse<String> exchange(int port, String head, String body, Duration timeout) {
    try (Socket socket = new Socket("127.0.0.1", port)) {
      socket.setSoTimeout((int) timeout.toMillis());
      OutputStream out = socket.getOutputStream();
      out.write(head.replace("\n", "\r\n").getBytes(StandardCharsets.US_ASCII));
      out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
      out.write(body.getBytes(StandardCharsets.UTF_8));
      out.flush();
      return read(socket.getInputStream(), URI.create("http://127.0.0.1:" + port + "/"));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static HttpResponse<String> read(InputStream in, URI uri) throws IOException {
    var headBytes = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("connection closed before the answer's head ended: " + headBytes);
      }
      headBytes.write(b);
      matched = (b == '\r' || b == '\n') && "\r\n\r\n".charAt(matched) == b ? matched + 1 : 0;
    }
    String[] lines = headBytes.toString(StandardCharsets.US_ASCII).trim().split("\r\n");
    int status = Integer.parseInt(lines[0].split(" ")[1]);
    var headers = new TreeMap<String, List<String>>(String.CASE_INSENSITIVE_ORDER);
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      headers
          .computeIfAbsent(lines[i].substring(0, colon).trim(), k -> new ArrayList<>())
          .add(lines[i].substring(colon + 1).trim());
    }
    byte[] body =
        headers.containsKey("Content-Length")
            ? in.readNBytes(Integer.parseInt(headers.get("Content-Length").get(0)))
            : in.readAllBytes();
    return new Answer(
        status,
        HttpHeaders.of(headers, (k, v) -> true),
        new String(body, StandardCharsets.UTF_8),
        uri);
  }

  private record Answer(int statusCode, HttpHeaders headers, String body, URI uri)
      implements HttpResponse<String> {
    @Override
    public HttpRequest request() {
      return HttpRequest.newBuilder(uri).build();
    }

    @Override
    public Optional<HttpResponse<String>> previousResponse() {
      return Optional.empty();
    }

    @Override
    public Optional<SSLSession> sslSession() {
      return Optional.empty();
    }

    @Override
    public HttpClient.Version version() {
      return HttpClient.Version.HTTP_1_1;
    }
  }
}
