package io.sagaflow.node;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.sagaflow.orchestrator.SagaReplies;
import io.sagaflow.orchestrator.SagaStatus;
import io.sagaflow.orchestrator.SagaView;
import io.sagaflow.orchestrator.dsl.SagaDefinition;
import io.sagaflow.orchestrator.testing.Eventually;
import io.sagaflow.persistence.DatabaseSettings;
import io.sagaflow.persistence.testing.TestDatabase;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Starts nodes for tests: a fresh database, every participant pointed at one stub. */
final class TestNodes {
  static final List<String> PARTICIPANTS =
      List.of("inventory", "payments", "shipping", "flights", "notifications");

  private TestNodes() {}

  static Map<String, String> env(TestDatabase db) {
    return Map.of(
        DatabaseSettings.URL_ENV, db.jdbcUrl(),
        DatabaseSettings.USER_ENV, db.user(),
        DatabaseSettings.PASSWORD_ENV, db.password());
  }

  static Config config(String participantsUrl) {
    var values = new HashMap<String, Object>();
    values.put("pekko.remote.artery.canonical.port", 0);
    values.put("sagaflow.http.port", 0);
    // Tests share a 2-core machine with other builds: a start may wait longer than in production.
    values.put("sagaflow.engine.ask-timeout", "20s");
    values.put("pekko.management.http.port", 0);
    for (String name : PARTICIPANTS) {
      values.put("sagaflow.participants." + name + ".url", participantsUrl);
    }
    return ConfigFactory.parseMap(values);
  }

  static SagaflowNode start(
      TestDatabase db, String participantsUrl, List<? extends SagaDefinition<?>> definitions) {
    return SagaflowNode.start(config(participantsUrl), env(db), definitions);
  }

  static SagaView view(SagaflowNode node, String sagaId) {
    var reply = node.engine().get(sagaId).toCompletableFuture().join();
    return reply instanceof SagaReplies.Found found ? found.saga() : null;
  }

  static SagaView awaitStatus(
      SagaflowNode node, String sagaId, SagaStatus status, Duration deadline) {
    return Eventually.await(
        sagaId + " " + status,
        deadline,
        () -> {
          SagaView v = view(node, sagaId);
          return v != null && v.status() == status ? v : null;
        });
  }
}
