package io.sagaflow.persistence;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;

/**
 * The node lease table ({@code sagaflow_node_lease}, migration V6) by plain JDBC: one row per node
 * incarnation, valid while {@code expires_at} is ahead of the database's clock. Every time is the
 * database's ({@code clock_timestamp()}), so the nodes' clocks never matter.
 */
public final class NodeLeases {
  public static final String TABLE = "sagaflow_node_lease";

  /** Rows of incarnations whose lease expired longer ago than this are deleted on acquire. */
  static final Duration KEEP_EXPIRED = Duration.ofDays(1);

  private NodeLeases() {}

  /**
   * The condition a journal insert appends (one parameter, the node): the lease is held, not
   * fenced, and not expired at the moment the statement runs.
   */
  static String validLeaseCondition() {
    return "EXISTS (SELECT 1 FROM "
        + TABLE
        + " WHERE node = ? AND fenced_at IS NULL AND expires_at > clock_timestamp())";
  }

  /** Takes a new lease for {@code node} (a new incarnation), valid for {@code ttl}. */
  public static void acquire(Connection c, String node, Duration ttl, int timeoutSeconds)
      throws SQLException {
    try (PreparedStatement delete =
        c.prepareStatement(
            "DELETE FROM " + TABLE + " WHERE expires_at < clock_timestamp() - ?::interval")) {
      delete.setQueryTimeout(timeoutSeconds);
      delete.setString(1, KEEP_EXPIRED.toSeconds() + " seconds");
      delete.executeUpdate();
    }
    try (PreparedStatement insert =
        c.prepareStatement(
            "INSERT INTO "
                + TABLE
                + " (node, acquired_at, renewed_at, expires_at) VALUES (?, clock_timestamp(),"
                + " clock_timestamp(), clock_timestamp() + ?::interval)")) {
      insert.setQueryTimeout(timeoutSeconds);
      insert.setString(1, node);
      insert.setString(2, interval(ttl));
      insert.executeUpdate();
    }
  }

  /**
   * Extends a lease that is still valid; false when it has expired or was fenced (nothing changed).
   */
  public static boolean renew(Connection c, String node, Duration ttl, int timeoutSeconds)
      throws SQLException {
    return update(
        c,
        "UPDATE "
            + TABLE
            + " SET renewed_at = clock_timestamp(), expires_at = clock_timestamp() + ?::interval"
            + " WHERE node = ? AND fenced_at IS NULL AND expires_at > clock_timestamp()",
        interval(ttl),
        node,
        timeoutSeconds);
  }

  /**
   * Takes an expired lease back (the node has shown it was not frozen meanwhile and is still a
   * member in good standing); false when it was fenced.
   */
  public static boolean reacquire(Connection c, String node, Duration ttl, int timeoutSeconds)
      throws SQLException {
    return update(
        c,
        "UPDATE "
            + TABLE
            + " SET renewed_at = clock_timestamp(), expires_at = clock_timestamp() + ?::interval"
            + " WHERE node = ? AND fenced_at IS NULL",
        interval(ttl),
        node,
        timeoutSeconds);
  }

  /** Ends the lease now, for the time being (the node may reacquire it). */
  public static void release(Connection c, String node, int timeoutSeconds) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "UPDATE "
                + TABLE
                + " SET expires_at = clock_timestamp() WHERE node = ? AND expires_at >"
                + " clock_timestamp()")) {
      ps.setQueryTimeout(timeoutSeconds);
      ps.setString(1, node);
      ps.executeUpdate();
    }
  }

  /** Ends the lease for good: it can never be renewed or reacquired. */
  public static void fence(Connection c, String node, int timeoutSeconds) throws SQLException {
    try (PreparedStatement ps =
        c.prepareStatement(
            "UPDATE "
                + TABLE
                + " SET fenced_at = clock_timestamp(), expires_at = LEAST(expires_at,"
                + " clock_timestamp()) WHERE node = ?")) {
      ps.setQueryTimeout(timeoutSeconds);
      ps.setString(1, node);
      ps.executeUpdate();
    }
  }

  private static boolean update(
      Connection c, String sql, String interval, String node, int timeoutSeconds)
      throws SQLException {
    try (PreparedStatement ps = c.prepareStatement(sql)) {
      ps.setQueryTimeout(timeoutSeconds);
      ps.setString(1, interval);
      ps.setString(2, node);
      return ps.executeUpdate() == 1;
    }
  }

  private static String interval(Duration d) {
    return d.toMillis() + " milliseconds";
  }
}
