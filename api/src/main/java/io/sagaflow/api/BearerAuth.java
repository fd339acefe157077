package io.sagaflow.api;

import static org.apache.pekko.http.javadsl.server.Directives.complete;
import static org.apache.pekko.http.javadsl.server.Directives.optionalHeaderValueByName;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.headers.RawHeader;
import org.apache.pekko.http.javadsl.server.Route;

/**
 * Authentication for /v1 when API tokens are configured: a bearer token, checked in constant time.
 */
final class BearerAuth {
  private static final String BEARER = "Bearer ";

  private final boolean required;
  // Digests, not tokens: of equal length, so that comparing them tells nothing of a token's length.
  private final byte[][] tokenDigests;
  private final JsonResponses responses;

  BearerAuth(ApiSettings settings, JsonResponses responses) {
    this.required = settings.authRequired();
    this.tokenDigests = settings.tokens().stream().map(BearerAuth::sha256).toArray(byte[][]::new);
    this.responses = responses;
  }

  /** {@code inner} when no tokens are configured or the request carries one; else 401. */
  Route authenticated(Supplier<Route> inner) {
    if (!required) {
      return inner.get();
    }
    return optionalHeaderValueByName(
        "Authorization",
        header -> {
          Optional<HttpResponse> refusal = refusal(header);
          return refusal.isPresent() ? complete(refusal.get()) : inner.get();
        });
  }

  /** The 401 for an {@code Authorization} header without a known bearer token; empty for one. */
  Optional<HttpResponse> refusal(Optional<String> authorization) {
    String token =
        authorization
            .filter(h -> h.regionMatches(true, 0, BEARER, 0, BEARER.length()))
            .map(h -> h.substring(BEARER.length()).trim())
            .orElse(null);
    if (token != null && known(token)) {
      return Optional.empty();
    }
    return Optional.of(
        responses
            .problem(
                Problem.of(
                    401,
                    "unauthorized",
                    "Unauthorized",
                    token == null
                        ? "send 'Authorization: Bearer <token>'"
                        : "the bearer token is not valid"))
            .addHeader(RawHeader.create("WWW-Authenticate", "Bearer realm=\"sagaflow\"")));
  }

  private boolean known(String token) {
    byte[] digest = sha256(token);
    boolean known = false;
    for (byte[] candidate : tokenDigests) {
      // Every token is compared, each in constant time: timing tells nothing about which matched.
      known |= MessageDigest.isEqual(candidate, digest);
    }
    return known;
  }

  private static byte[] sha256(String value) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
