package io.sagaflow.persistence;

import scala.Option;

/** Quoted SQL identifiers for the journal tables, whose names come from the plugin's settings. */
final class SqlNames {

  private SqlNames() {}

  static String quote(String name) {
    return "\"" + name.replace("\"", "\"\"") + "\"";
  }

  static String table(Option<String> schema, String table) {
    return schema.isDefined() ? quote(schema.get()) + "." + quote(table) : quote(table);
  }
}
