package io.sagaflow.orchestrator.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Map;
import org.apache.pekko.serialization.jackson.JacksonMigration;

/**
 * Reads events written before they moved to {@code io.sagaflow.orchestrator.history}: their journal
 * rows name the old classes (nested in {@code SagaEntity}) as manifest. Configured for each old
 * name in {@code reference.conf}; the JSON itself did not change.
 */
public final class MovedEvents extends JacksonMigration {

  private static final String OLD = "io.sagaflow.orchestrator.SagaEntity$";
  private static final String NEW = "io.sagaflow.orchestrator.history.SagaEvent$";

  /** Old manifest class name to new class name. */
  static final Map<String, String> RENAMED =
      Map.ofEntries(
          moved("SagaStarted"),
          moved("StepSucceeded"),
          moved("SagaCompleted"),
          moved("StepAttemptFailed"),
          moved("StepFailed"),
          moved("CompensationStarted"),
          moved("CompensationAttemptFailed"),
          moved("StepCompensated"),
          moved("CompensationFailed"),
          moved("SagaFailed"),
          moved("SagaResumed"));

  private static Map.Entry<String, String> moved(String simpleName) {
    return Map.entry(OLD + simpleName, NEW + simpleName);
  }

  /**
   * Above the version of every old row (1), so that Pekko asks this migration for the class name;
   * rows written by the moved classes name them directly and never reach it.
   */
  @Override
  public int currentVersion() {
    return 2;
  }

  @Override
  public String transformClassName(int fromVersion, String className) {
    String moved = RENAMED.get(className);
    if (moved == null) {
      throw new IllegalArgumentException("no moved event class was called " + className);
    }
    return moved;
  }

  @Override
  public JsonNode transform(int fromVersion, JsonNode json) {
    return json;
  }
}
