package io.sagaflow.chaos.participant;

import java.nio.charset.StandardCharsets;

/** A status and body the participant answers, kept so that a repeated key gets the same one. */
record Answer(int status, byte[] body) {

  /** Over the engine's default 1 MiB cap on a participant's answer: 1.5 MiB of valid JSON. */
  private static final byte[] OVERSIZED = oversized(3 * 512 * 1024);

  private static final byte[] MALFORMED = "{not json".getBytes(StandardCharsets.UTF_8);

  static Answer ok(Target target, String effect) {
    return json(
        200,
        "{\"participant\":\""
            + target.participant()
            + "\",\"step\":\""
            + target.step()
            + "\",\"effect\":\""
            + effect
            + "\"}");
  }

  static Answer oversized() {
    return new Answer(200, OVERSIZED);
  }

  static Answer malformed() {
    return new Answer(200, MALFORMED);
  }

  static Answer error(int status, String why) {
    return json(status, "{\"error\":\"" + why + "\"}");
  }

  private static Answer json(int status, String body) {
    return new Answer(status, body.getBytes(StandardCharsets.UTF_8));
  }

  private static byte[] oversized(int size) {
    var out = new StringBuilder(size + 16).append("{\"pad\":\"");
    out.append("x".repeat(size));
    return out.append("\"}").toString().getBytes(StandardCharsets.UTF_8);
  }
}
