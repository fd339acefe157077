package io.sagaflow.persistence.index;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.Arrays;
import java.util.Base64;

/**
 * The position after the last row of a page: its {@code created_at} and {@code saga_id}, encoded as
 * an opaque, url-safe token.
 *
 * <p>Layout before base64url (no padding): a format byte, {@code created_at} in microseconds since
 * the epoch (8 bytes, big-endian), the saga id in UTF-8, and the first 8 bytes of the SHA-256 of
 * all that. The checksum is not a secret (any position in the list is public to whoever may list
 * it); it makes a garbled or edited token fail here, with "invalid cursor", instead of reaching the
 * database or silently starting somewhere else. Every field is checked so that a token that passes
 * can never make the query fail.
 */
record PageCursor(long createdAtMicros, String sagaId) {

  /** Longer tokens are rejected before decoding. */
  static final int MAX_TOKEN_LENGTH = 2048;

  private static final byte FORMAT = 1;
  private static final int CHECKSUM_BYTES = 8;
  private static final int HEADER_BYTES = 1 + Long.BYTES;
  // PostgreSQL timestamptz reaches further; years 1..9999 is what java.time and pgjdbc agree on.
  private static final long MIN_MICROS = toMicros(Instant.parse("0001-01-01T00:00:00Z"));
  private static final long MAX_MICROS = toMicros(Instant.parse("9999-12-31T23:59:59.999999Z"));

  static PageCursor after(Instant createdAt, String sagaId) {
    return new PageCursor(toMicros(createdAt), sagaId);
  }

  Instant createdAt() {
    return Instant.ofEpochSecond(
        Math.floorDiv(createdAtMicros, 1_000_000L),
        Math.floorMod(createdAtMicros, 1_000_000L) * 1_000L);
  }

  String encode() {
    byte[] id = sagaId.getBytes(StandardCharsets.UTF_8);
    ByteBuffer body = ByteBuffer.allocate(HEADER_BYTES + id.length + CHECKSUM_BYTES);
    body.put(FORMAT).putLong(createdAtMicros).put(id);
    body.put(checksum(body.array(), HEADER_BYTES + id.length));
    return Base64.getUrlEncoder().withoutPadding().encodeToString(body.array());
  }

  /**
   * @throws IllegalArgumentException {@code "invalid cursor"} for anything {@link #encode()} did
   *     not produce
   */
  static PageCursor decode(String token) {
    if (token == null || token.isEmpty() || token.length() > MAX_TOKEN_LENGTH) {
      throw invalid();
    }
    byte[] bytes;
    try {
      bytes = Base64.getUrlDecoder().decode(token);
    } catch (IllegalArgumentException e) {
      throw invalid();
    }
    // The decoder tolerates padding and stray low bits: accept only the one canonical spelling.
    if (!Base64.getUrlEncoder().withoutPadding().encodeToString(bytes).equals(token)) {
      throw invalid();
    }
    int bodyLength = bytes.length - CHECKSUM_BYTES;
    if (bodyLength <= HEADER_BYTES || bytes[0] != FORMAT) {
      throw invalid();
    }
    byte[] expected = checksum(bytes, bodyLength);
    if (!MessageDigest.isEqual(expected, Arrays.copyOfRange(bytes, bodyLength, bytes.length))) {
      throw invalid();
    }
    ByteBuffer body = ByteBuffer.wrap(bytes, 1, bodyLength - 1);
    long micros = body.getLong();
    if (micros < MIN_MICROS || micros > MAX_MICROS) {
      throw invalid();
    }
    String sagaId;
    try {
      CharBuffer chars =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(body);
      sagaId = chars.toString();
    } catch (CharacterCodingException e) {
      throw invalid();
    }
    // PostgreSQL text cannot hold NUL: such an id exists nowhere and would fail the query.
    if (sagaId.indexOf('\0') >= 0) {
      throw invalid();
    }
    return new PageCursor(micros, sagaId);
  }

  private static long toMicros(Instant at) {
    return Math.addExact(Math.multiplyExact(at.getEpochSecond(), 1_000_000L), at.getNano() / 1_000);
  }

  private static byte[] checksum(byte[] bytes, int length) {
    try {
      MessageDigest sha256 = MessageDigest.getInstance("SHA-256");
      sha256.update(bytes, 0, length);
      return Arrays.copyOf(sha256.digest(), CHECKSUM_BYTES);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  private static IllegalArgumentException invalid() {
    return new IllegalArgumentException("invalid cursor");
  }
}
