package io.sagaflow.orchestrator.telemetry;

import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A W3C {@code traceparent} header's trace id and parent span id (version 00): {@code 00-<32
 * hex>-<16 hex>-<2 hex>}, neither id all zeros. Anything else is not a trace context.
 */
public record TraceParent(String traceId, String spanId, String flags) {

  private static final Pattern FORMAT =
      Pattern.compile("([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?");

  /** The trace context {@code header} names; empty for null, blank or malformed. */
  public static Optional<TraceParent> parse(String header) {
    if (header == null) {
      return Optional.empty();
    }
    var m = FORMAT.matcher(header.trim());
    if (!m.matches()) {
      return Optional.empty();
    }
    String version = m.group(1);
    // Version ff is invalid; version 00 has exactly four fields; later versions may add more.
    if (version.equals("ff") || (version.equals("00") && m.group(5) != null)) {
      return Optional.empty();
    }
    String traceId = m.group(2);
    String spanId = m.group(3);
    if (traceId.chars().allMatch(c -> c == '0') || spanId.chars().allMatch(c -> c == '0')) {
      return Optional.empty();
    }
    return Optional.of(new TraceParent(traceId, spanId, m.group(4)));
  }

  /** As a header value, version 00. */
  public String header() {
    return "00-" + traceId + "-" + spanId + "-" + flags;
  }
}
