package io.sagaflow.chaos.check;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.GZIPInputStream;

/**
 * Reads every saga's rows from {@code event_journal} over plain JDBC: the journal as PostgreSQL
 * holds it, not as the engine folds it.
 */
final class JournalReader {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String PREFIX = "saga|";

  private JournalReader() {}

  /** Every saga's rows, oldest first, by saga id. */
  static Map<String, List<JournalRow>> read(String url, String user, String password) {
    var bySaga = new LinkedHashMap<String, List<JournalRow>>();
    String sql =
        "SELECT persistence_id, sequence_number, writer, write_timestamp, event_ser_manifest,"
            + " event_payload FROM event_journal WHERE persistence_id LIKE 'saga|%'"
            + " ORDER BY persistence_id, sequence_number";
    try (Connection c = DriverManager.getConnection(url, user, password)) {
      c.setAutoCommit(false); // else PostgreSQL ignores the fetch size and sends every row at once
      try (PreparedStatement s = c.prepareStatement(sql)) {
        s.setFetchSize(5000);
        try (ResultSet rs = s.executeQuery()) {
          while (rs.next()) {
            JournalRow row = row(rs);
            bySaga.computeIfAbsent(row.sagaId(), id -> new ArrayList<>()).add(row);
          }
        }
      }
    } catch (SQLException e) {
      throw new IllegalStateException("could not read event_journal at " + url, e);
    }
    return bySaga;
  }

  private static JournalRow row(ResultSet rs) throws SQLException {
    return new JournalRow(
        rs.getString(1).substring(PREFIX.length()),
        rs.getLong(2),
        rs.getString(3),
        rs.getLong(4),
        JournalRow.eventType(rs.getString(5)),
        json(rs.getBytes(6)));
  }

  /** The payload's JSON (Pekko's Jackson serializer may have gzipped it); null if not JSON. */
  private static JsonNode json(byte[] payload) {
    try {
      boolean gzipped =
          payload.length > 2 && payload[0] == (byte) 0x1f && payload[1] == (byte) 0x8b;
      return gzipped
          ? JSON.readTree(new GZIPInputStream(new ByteArrayInputStream(payload)))
          : JSON.readTree(payload);
    } catch (IOException e) {
      return null;
    }
  }
}
