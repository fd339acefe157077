package io.sagaflow.persistence.webhooks;

import io.sagaflow.orchestrator.history.EventType;
import io.sagaflow.orchestrator.history.SagaHistory;
import io.sagaflow.persistence.index.IndexUnavailableException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * The webhook subscriptions in PostgreSQL ({@code webhook_subscription}, migration V8) and their
 * projections' offsets. Every call blocks on JDBC and fails with {@link IndexUnavailableException}
 * when the database cannot answer.
 */
public final class SubscriptionStore {
  /** The projection name of every subscription's offset; the key is the subscription's id. */
  public static final String PROJECTION_NAME = "webhook";

  private static final String COLUMNS =
      "id, url, events, secret, start_offset, status, parked_reason, parked_at, created_at";

  private final DataSource dataSource;
  private final String offsetTable;

  /**
   * @param dataSource connections with auto-commit off
   * @param offsetTable pekko-projection's offset table, as {@code SagaIndexProjection.offsetTable}
   *     names it
   */
  public SubscriptionStore(DataSource dataSource, String offsetTable) {
    this.dataSource = dataSource;
    this.offsetTable = offsetTable;
  }

  /** Saves a new subscription that starts after the newest saga event of the journal. */
  public Subscription create(String id, String url, List<EventType> events, String secret) {
    String sql =
        "insert into webhook_subscription ("
            + COLUMNS
            + ") select ?, ?, ?, ?, coalesce(max(ordering), 0), 'ACTIVE', null, null, now()"
            + " from event_journal where persistence_id like ? returning "
            + COLUMNS;
    return transaction(
        "create webhook subscription",
        c -> {
          try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, id);
            ps.setString(2, url);
            ps.setString(3, String.join(",", events.stream().map(EventType::publicName).toList()));
            ps.setString(4, secret);
            ps.setString(5, SagaHistory.ENTITY_TYPE + "|%");
            try (ResultSet rows = ps.executeQuery()) {
              rows.next();
              return read(rows);
            }
          }
        });
  }

  /** Every subscription, oldest first. */
  public List<Subscription> list() {
    return transaction(
        "list webhook subscriptions",
        c -> {
          try (PreparedStatement ps =
                  c.prepareStatement(
                      "select " + COLUMNS + " from webhook_subscription order by created_at, id");
              ResultSet rows = ps.executeQuery()) {
            var all = new ArrayList<Subscription>();
            while (rows.next()) {
              all.add(read(rows));
            }
            return all;
          }
        });
  }

  public Optional<Subscription> find(String id) {
    return transaction(
        "read webhook subscription",
        c -> {
          try (PreparedStatement ps =
              c.prepareStatement("select " + COLUMNS + " from webhook_subscription where id = ?")) {
            ps.setString(1, id);
            try (ResultSet rows = ps.executeQuery()) {
              return rows.next() ? Optional.of(read(rows)) : Optional.empty();
            }
          }
        });
  }

  /** Deletes the subscription and its offset; false when there was none. */
  public boolean delete(String id) {
    return transaction(
        "delete webhook subscription",
        c -> {
          try (PreparedStatement offset =
                  c.prepareStatement(
                      "delete from "
                          + offsetTable
                          + " where projection_name = ? and projection_key = ?");
              PreparedStatement row =
                  c.prepareStatement("delete from webhook_subscription where id = ?")) {
            offset.setString(1, PROJECTION_NAME);
            offset.setString(2, id);
            offset.executeUpdate();
            row.setString(1, id);
            return row.executeUpdate() == 1;
          }
        });
  }

  /** Parks an active subscription for {@code reason}; false when it is gone or parked already. */
  public boolean park(String id, String reason) {
    return update(
        "park webhook subscription",
        "update webhook_subscription set status = 'PARKED', parked_reason = ?, parked_at = now()"
            + " where id = ? and status = 'ACTIVE'",
        reason,
        id);
  }

  /** Makes a parked subscription active again; false when there is none with this id. */
  public boolean resume(String id) {
    return update(
        "resume webhook subscription",
        "update webhook_subscription set status = 'ACTIVE', parked_reason = null, parked_at = null"
            + " where id = ?",
        id);
  }

  /** What the webhook gauges show: the subscriptions by status, and the most events behind. */
  public record Reading(long active, long parked, long maxLag) {}

  public Reading read() {
    String sql =
        "select count(*) filter (where s.status = 'ACTIVE'),"
            + " count(*) filter (where s.status = 'PARKED'),"
            + " coalesce(max(greatest(0, (select coalesce(max(ordering), 0) from event_journal)"
            + " - coalesce(o.current_offset::bigint, s.start_offset))), 0)"
            + " from webhook_subscription s left join "
            + offsetTable
            + " o on o.projection_name = ? and o.projection_key = s.id";
    return transaction(
        "read webhook gauges",
        c -> {
          try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, PROJECTION_NAME);
            try (ResultSet rows = ps.executeQuery()) {
              rows.next();
              return new Reading(rows.getLong(1), rows.getLong(2), rows.getLong(3));
            }
          }
        });
  }

  private boolean update(String what, String sql, String... values) {
    return transaction(
        what,
        c -> {
          try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < values.length; i++) {
              ps.setString(i + 1, values[i]);
            }
            return ps.executeUpdate() == 1;
          }
        });
  }

  private static Subscription read(ResultSet rows) throws SQLException {
    String events = rows.getString(3);
    Timestamp parkedAt = rows.getTimestamp(8);
    return new Subscription(
        rows.getString(1),
        rows.getString(2),
        events.isEmpty()
            ? List.of()
            : Arrays.stream(events.split(","))
                .map(name -> EventType.named(name).orElse(null))
                // A name this release does not know (written by a newer one) delivers nothing.
                .filter(t -> t != null)
                .toList(),
        rows.getString(4),
        rows.getLong(5),
        Subscription.Status.valueOf(rows.getString(6)),
        rows.getString(7),
        parkedAt == null ? null : parkedAt.toInstant(),
        rows.getTimestamp(9).toInstant());
  }

  @FunctionalInterface
  private interface Work<T> {
    T run(Connection c) throws SQLException;
  }

  private <T> T transaction(String what, Work<T> work) {
    try (Connection c = dataSource.getConnection()) {
      try {
        T result = work.run(c);
        c.commit();
        return result;
      } catch (SQLException | RuntimeException e) {
        c.rollback();
        throw e;
      }
    } catch (SQLException e) {
      throw new IndexUnavailableException("could not " + what + ": " + e.getMessage(), e);
    }
  }
}
