package io.sagaflow.orchestrator.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Duration;
import java.util.Map;

/**
 * One HTTP call to a participant, fully built: which participant (by name), method, path under its
 * base URL, JSON body (null for none), the saga headers, and the attempt's timeout.
 */
public record ParticipantRequest(
    String participant,
    String method,
    String path,
    JsonNode body,
    Map<String, String> headers,
    Duration timeout) {

  public ParticipantRequest {
    headers = Map.copyOf(headers);
  }
}
