package io.sagaflow.orchestrator.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;

/** Stable digests and ids: the start fingerprint that makes a saga id idempotent, trace ids. */
public final class Fingerprint {
  private static final SecureRandom RANDOM = new SecureRandom();

  private Fingerprint() {}

  /**
   * SHA-256 of the type and the canonical JSON of the input (object keys sorted), so that the same
   * input written with its keys in another order is still the same start.
   */
  public static String of(String type, JsonNode input) {
    var canonical = new StringBuilder(type).append('\n');
    appendCanonical(canonical, input);
    try {
      byte[] digest =
          MessageDigest.getInstance("SHA-256")
              .digest(canonical.toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 is missing from this JVM", e);
    }
  }

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
    RANDOM.nextBytes(b);
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
