package io.sagaflow.orchestrator.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.function.BooleanSupplier;

/**
 * One HTTP call to a participant, fully built: which participant (by name), method, path under its
 * base URL, JSON body (null for none), the saga headers, and the attempt's timeout. {@code
 * withdrawn} turns true when the saga that made the call no longer runs on this node (its shard
 * handed off, or it stopped): a call still waiting for a connection then is dropped, never sent,
 * since the saga's new owner sends its own.
 */
public record ParticipantRequest(
    String participant,
    String method,
    String path,
    JsonNode body,
    Map<String, String> headers,
    Duration timeout,
    BooleanSupplier withdrawn) {

  /** Never withdrawn. */
  public static final BooleanSupplier NEVER_WITHDRAWN = () -> false;

  public ParticipantRequest {
    headers = Map.copyOf(headers);
    Objects.requireNonNull(withdrawn, "withdrawn");
  }

  /** A call that is never withdrawn. */
  public ParticipantRequest(
      String participant,
      String method,
      String path,
      JsonNode body,
      Map<String, String> headers,
      Duration timeout) {
    this(participant, method, path, body, headers, timeout, NEVER_WITHDRAWN);
  }
}
