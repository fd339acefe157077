package io.sagaflow.api;

import java.util.List;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpHeader;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * The web UI: {@code GET /} and the static files under {@code /ui/}, from the jar's {@code ui/}
 * folder (no build step; see {@code ui/app.js}). The page holds no data: everything it shows it
 * reads from {@code /v1} in the browser, with the API token the user gives it when the node asks
 * for one, so it needs no authentication of its own. Answers carry a Content-Security-Policy that
 * allows this origin's scripts, styles and requests only, and forbid framing.
 */
final class WebUi extends AllDirectives {

  static final List<HttpHeader> HEADERS =
      List.of(
          RawHeader.create(
              "Content-Security-Policy",
              "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
                  + " img-src 'self' data:; base-uri 'none'; form-action 'self';"
                  + " frame-ancestors 'none'"),
          RawHeader.create("X-Content-Type-Options", "nosniff"),
          RawHeader.create("Referrer-Policy", "no-referrer"),
          // Small files, and a new release must show at once: revalidate every time.
          RawHeader.create("Cache-Control", "no-cache"));

  /**
   * The UI's routes. Each matches its path before its method: a method directive that passes
   * cancels the method rejections of the other routes, so a {@code get} around everything would
   * turn every {@code 405} of the API into a {@code 404}.
   */
  Route routes() {
    return concat(
        pathSingleSlash(
            () ->
                get(
                    () ->
                        respondWithHeaders(
                            HEADERS,
                            () -> getFromResource("ui/index.html", ContentTypes.TEXT_HTML_UTF8)))),
        pathPrefix(
            "ui",
            () -> get(() -> respondWithHeaders(HEADERS, () -> getFromResourceDirectory("ui")))));
  }
}
