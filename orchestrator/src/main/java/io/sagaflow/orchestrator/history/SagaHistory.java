package io.sagaflow.orchestrator.history;

import java.util.List;
import java.util.Optional;
import org.apache.pekko.persistence.typed.PersistenceId;

/**
 * Where a saga's history is kept and how it is read: its persistence id, its index tag, and the
 * fold of its events into a {@link SagaSnapshot}.
 */
public final class SagaHistory {

  /** The entity type of sagas: the first part of every saga's persistence id. */
  public static final String ENTITY_TYPE = "saga";

  /**
   * Events that change a saga's status carry one of these tags, chosen by saga id; the saga index
   * projection reads one tag per instance. Changing the count needs a projection rebuild.
   */
  public static final List<String> INDEX_TAGS =
      List.of("saga-index-0", "saga-index-1", "saga-index-2", "saga-index-3");

  /**
   * A journal row whose adapter manifest is this prefix followed by a tag is filed under that tag
   * by the journal's trigger (migrations V4 and V5, which read the tag from the sixth character).
   */
  public static final String TAG_MANIFEST_PREFIX = "tag:";

  private static final String SEPARATOR = "|";

  private SagaHistory() {}

  public static PersistenceId persistenceId(String sagaId) {
    return PersistenceId.of(ENTITY_TYPE, sagaId, SEPARATOR);
  }

  /** The saga id of a persistence id, or empty when it is not a saga's. */
  public static Optional<String> sagaId(String persistenceId) {
    String prefix = ENTITY_TYPE + SEPARATOR;
    return persistenceId.startsWith(prefix)
        ? Optional.of(persistenceId.substring(prefix.length()))
        : Optional.empty();
  }

  /** The index tag of a saga. */
  public static String indexTag(String sagaId) {
    return INDEX_TAGS.get(Math.floorMod(sagaId.hashCode(), INDEX_TAGS.size()));
  }

  /** The adapter manifest that files an event under {@code tag}. */
  public static String tagManifest(String tag) {
    return TAG_MANIFEST_PREFIX + tag;
  }

  /** The saga that {@code events} (oldest first) describe, or empty when there are none. */
  public static Optional<SagaSnapshot.Started> fold(Iterable<? extends SagaEvent> events) {
    SagaSnapshot snapshot = new SagaSnapshot.NotStarted();
    for (SagaEvent event : events) {
      snapshot = snapshot.apply(event);
    }
    return snapshot instanceof SagaSnapshot.Started started
        ? Optional.of(started)
        : Optional.empty();
  }
}
