package io.sagaflow.persistence.webhooks;

import com.typesafe.config.Config;
import java.time.Duration;

/**
 * Tunables of webhook delivery, read once from {@code sagaflow.webhooks}.
 *
 * @param pollInterval how often the dispatcher reads the subscriptions (new, deleted, resumed)
 * @param maxAttempts attempts at one event (the first counts) before its subscription is parked
 * @param minBackoff the delay before the second attempt, doubled for each further one
 * @param maxBackoff the longest delay between two attempts
 * @param jitter the random share added to each delay (0 to 1)
 * @param requestTimeout how long one attempt may take, connection and answer
 * @param saveOffsetAfterEnvelopes an offset is stored after this many events
 * @param saveOffsetAfterDuration or after this long
 * @param connections the webhook pool's JDBC connections on each node
 */
public record WebhookSettings(
    Duration pollInterval,
    int maxAttempts,
    Duration minBackoff,
    Duration maxBackoff,
    double jitter,
    Duration requestTimeout,
    int saveOffsetAfterEnvelopes,
    Duration saveOffsetAfterDuration,
    int connections) {

  public static final String CONFIG_PATH = "sagaflow.webhooks";

  public WebhookSettings {
    if (maxAttempts < 1) {
      throw new IllegalArgumentException(
          CONFIG_PATH + ".max-attempts must be at least 1: " + maxAttempts);
    }
    if (jitter < 0 || jitter > 1) {
      throw new IllegalArgumentException(CONFIG_PATH + ".jitter must be in [0, 1]: " + jitter);
    }
    if (minBackoff.isNegative() || maxBackoff.compareTo(minBackoff) < 0) {
      throw new IllegalArgumentException(
          CONFIG_PATH
              + ": need 0 <= min-backoff <= max-backoff: "
              + minBackoff
              + ", "
              + maxBackoff);
    }
    if (saveOffsetAfterEnvelopes < 1 || connections < 1) {
      throw new IllegalArgumentException(
          CONFIG_PATH + ".save-offset-after-envelopes and connections must be at least 1");
    }
  }

  public static WebhookSettings fromConfig(Config config) {
    Config c = config.getConfig(CONFIG_PATH);
    return new WebhookSettings(
        c.getDuration("poll-interval"),
        c.getInt("max-attempts"),
        c.getDuration("min-backoff"),
        c.getDuration("max-backoff"),
        c.getDouble("jitter"),
        c.getDuration("request-timeout"),
        c.getInt("save-offset-after-envelopes"),
        c.getDuration("save-offset-after-duration"),
        c.getInt("connections"));
  }
}
