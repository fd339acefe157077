package io.sagaflow.orchestrator.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;

/** Stable digests and ids: the start fingerprint that makes a saga id idempotent, trace ids. */
public final class Fingerprint {
  // One digest per thread: MessageDigest.getInstance looks the algorithm up in the providers.
  private static final ThreadLocal<MessageDigest> SHA_256 =
      ThreadLocal.withInitial(
          () -> {
            try {
              return MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
              throw new IllegalStateException("SHA-256 is missing from this JVM", e);
            }
          });

  private Fingerprint() {}

  /**
   * SHA-256 of the type and the canonical JSON of the input (object keys sorted), so that the same
   * input written with its keys in another order is still the same start.
   */
  public static String of(String type, JsonNode input) {
    var canonical = new StringBuilder(type).append('\n');
    appendCanonical(canonical, input);
    MessageDigest sha256 = SHA_256.get();
    sha256.reset();
    return HexFormat.of()
        .formatHex(sha256.digest(canonical.toString().getBytes(StandardCharsets.UTF_8)));
  }

  // Trace and span ids only need to be unique, not unpredictable (W3C Trace Context): the
  // thread's own generator instead of SecureRandom, which serializes every caller on one lock.

  /** A W3C trace id: 16 random bytes as 32 lower-case hex digits. */
  public static String newTraceId() {
    return randomHex(16);
  }

  /** A W3C span id: 8 random bytes as 16 lower-case hex digits. */
  public static String newSpanId() {
    return randomHex(8);
  }

  private static String randomHex(int bytes) {
    byte[] b = new byte[bytes];
    ThreadLocalRandom.current().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  private static void appendCanonical(StringBuilder out, JsonNode node) {
    if (node == null || node.isMissingNode()) {
      out.append("null");
    } else if (node.isObject()) {
      var sorted = new TreeMap<String, JsonNode>();
      for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
        var field = it.next();
        sorted.put(field.getKey(), field.getValue());
      }
      out.append('{');
      boolean first = true;
      for (var field : sorted.entrySet()) {
        if (!first) {
          out.append(',');
        }
        first = false;
        out.append(com.fasterxml.jackson.databind.node.TextNode.valueOf(field.getKey()));
        out.append(':');
        appendCanonical(out, field.getValue());
      }
      out.append('}');
    } else if (node.isArray()) {
      out.append('[');
      for (int i = 0; i < node.size(); i++) {
        if (i > 0) {
          out.append(',');
        }
        appendCanonical(out, node.get(i));
      }
      out.append(']');
    } else {
      out.append(node.toString());
    }
  }
}
