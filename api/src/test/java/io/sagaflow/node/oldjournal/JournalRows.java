package io.sagaflow.node.oldjournal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Database rows as diff-able text: one JSON object per row and line, columns in table order, over
 * plain JDBC. {@code bytea} is {@code {"utf8": "..."}} when the bytes are UTF-8 text (the journal's
 * JSON events) and {@code {"base64": "..."}} otherwise; {@code timestamptz} is an ISO-8601 instant;
 * numbers and booleans are JSON numbers and booleans; everything else is a string.
 */
final class JournalRows {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** A table of the schema and the columns its rows are written in the order of. */
  record Table(String name, String orderBy) {
    String file() {
      return name + ".jsonl";
    }
  }

  /** Every table of schema V5 that a node writes, in an order that satisfies foreign keys. */
  static final List<Table> TABLES =
      List.of(
          new Table("event_journal", "ordering"),
          new Table("event_tag", "event_id, tag"),
          new Table("snapshot", "persistence_id, sequence_number"),
          new Table("durable_state", "persistence_id"),
          new Table("saga_index", "saga_id"),
          new Table("pekko_projection_offset_store", "projection_name, projection_key"),
          new Table("pekko_projection_management", "projection_name, projection_key"));

  /** Flyway's record of the migrations applied: the schema version the rows belong to. */
  static final Table FLYWAY = new Table("flyway_schema_history", "installed_rank");

  private JournalRows() {}

  /** Every row of {@code table}, in its order. */
  static List<ObjectNode> read(Connection c, Table table) throws SQLException {
    var rows = new ArrayList<ObjectNode>();
    try (Statement s = c.createStatement();
        ResultSet rs =
            s.executeQuery("SELECT * FROM " + table.name() + " ORDER BY " + table.orderBy())) {
      ResultSetMetaData meta = rs.getMetaData();
      while (rs.next()) {
        ObjectNode row = JSON.createObjectNode();
        for (int i = 1; i <= meta.getColumnCount(); i++) {
          row.set(meta.getColumnName(i), value(rs, i, meta.getColumnTypeName(i)));
        }
        rows.add(row);
      }
    }
    return rows;
  }

  private static JsonNode value(ResultSet rs, int i, String type) throws SQLException {
    if (rs.getObject(i) == null) {
      return JSON.nullNode();
    }
    switch (type) {
      case "bytea":
        return bytes(rs.getBytes(i));
      case "timestamptz":
        return JSON.getNodeFactory()
            .textNode(rs.getObject(i, OffsetDateTime.class).toInstant().toString());
      case "int2":
      case "int4":
      case "int8":
      case "serial":
      case "bigserial":
        return JSON.getNodeFactory().numberNode(rs.getLong(i));
      case "bool":
        return JSON.getNodeFactory().booleanNode(rs.getBoolean(i));
      default:
        return JSON.getNodeFactory().textNode(rs.getString(i));
    }
  }

  private static JsonNode bytes(byte[] bytes) {
    ObjectNode node = JSON.createObjectNode();
    try {
      String text =
          StandardCharsets.UTF_8
              .newDecoder()
              .onMalformedInput(CodingErrorAction.REPORT)
              .onUnmappableCharacter(CodingErrorAction.REPORT)
              .decode(ByteBuffer.wrap(bytes))
              .toString();
      return node.put("utf8", text);
    } catch (CharacterCodingException e) {
      return node.put("base64", Base64.getEncoder().encodeToString(bytes));
    }
  }

  /** The bytes of a {@code bytea} value as {@link #read} wrote it. */
  static byte[] bytes(JsonNode value) {
    if (value.has("utf8")) {
      return value.get("utf8").asText().getBytes(StandardCharsets.UTF_8);
    }
    if (value.has("base64")) {
      return Base64.getDecoder().decode(value.get("base64").asText());
    }
    throw new IllegalArgumentException("not a bytea value: " + value);
  }

  static void write(Path file, List<ObjectNode> rows) throws IOException {
    var text = new StringBuilder();
    for (ObjectNode row : rows) {
      text.append(JSON.writeValueAsString(row)).append('\n');
    }
    Files.writeString(file, text.toString(), StandardCharsets.UTF_8);
  }

  static List<ObjectNode> parse(String text) {
    var rows = new ArrayList<ObjectNode>();
    for (String line : text.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      try {
        rows.add((ObjectNode) JSON.readTree(line));
      } catch (IOException e) {
        throw new UncheckedIOException("not a JSON row: " + line, e);
      }
    }
    return rows;
  }

  /**
   * Inserts rows as {@link #read} wrote them, each value cast to its column's type in the target
   * schema (so a value that does not fit fails here, not later).
   */
  static void insert(Connection c, String table, List<ObjectNode> rows) throws SQLException {
    Map<String, String> types = columnTypes(c, table);
    for (ObjectNode row : rows) {
      var columns = new ArrayList<String>();
      var placeholders = new ArrayList<String>();
      for (Iterator<String> names = row.fieldNames(); names.hasNext(); ) {
        String column = names.next();
        String type = types.get(column);
        if (type == null) {
          throw new IllegalArgumentException(table + " has no column " + column);
        }
        columns.add(column);
        placeholders.add(type.equals("bytea") ? "?" : "CAST(? AS " + type + ")");
      }
      String sql =
          "INSERT INTO "
              + table
              + " ("
              + String.join(", ", columns)
              + ") VALUES ("
              + String.join(", ", placeholders)
              + ")";
      try (PreparedStatement ps = c.prepareStatement(sql)) {
        for (int i = 0; i < columns.size(); i++) {
          JsonNode value = row.get(columns.get(i));
          if (types.get(columns.get(i)).equals("bytea")) {
            ps.setBytes(i + 1, value.isNull() ? null : bytes(value));
          } else {
            ps.setString(i + 1, value.isNull() ? null : value.asText());
          }
        }
        ps.executeUpdate();
      }
    }
  }

  /** Column name to PostgreSQL type name ({@code udt_name}, e.g. int8, bytea, timestamptz). */
  static Map<String, String> columnTypes(Connection c, String table) throws SQLException {
    var types = new LinkedHashMap<String, String>();
    try (PreparedStatement ps =
        c.prepareStatement(
            "SELECT column_name, udt_name FROM information_schema.columns"
                + " WHERE table_schema = current_schema() AND table_name = ?"
                + " ORDER BY ordinal_position")) {
      ps.setString(1, table);
      try (ResultSet rs = ps.executeQuery()) {
        while (rs.next()) {
          types.put(rs.getString(1), rs.getString(2));
        }
      }
    }
    if (types.isEmpty()) {
      throw new IllegalArgumentException("no table " + table + " in the current schema");
    }
    return types;
  }
}
