package io.sagaflow.chaos.check;

import com.fasterxml.jackson.databind.SerializationFeature;
import io.sagaflow.chaos.format.Jsonl;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;

/** What the checker found: one result per check. */
public record CheckReport(List<CheckResult> checks) {

  /** How many violations of one check {@link #render()} lists. */
  static final int SHOWN = 20;

  public CheckReport {
    checks = List.copyOf(checks);
  }

  public boolean ok() {
    return checks.stream().allMatch(CheckResult::ok);
  }

  public List<Violation> violations() {
    return checks.stream().flatMap(c -> c.violations().stream()).toList();
  }

  /** The result of check {@code id} ({@code C1}..). */
  public CheckResult check(String id) {
    return checks.stream()
        .filter(c -> c.check().equals(id))
        .findFirst()
        .orElseThrow(() -> new IllegalArgumentException("no check " + id));
  }

  /** One line per check with its count, then its first violations. */
  public String render() {
    var out = new StringBuilder();
    out.append("chaos check: ")
        .append(ok() ? "OK" : violations().size() + " violations")
        .append('\n');
    for (CheckResult c : checks) {
      out.append(
          String.format(
              "%s %-4s %s: %d %s, %d violations%n",
              c.check(),
              c.ok() ? "ok" : "FAIL",
              c.title(),
              c.examined(),
              c.unit(),
              c.violations().size()));
      c.violations().stream().limit(SHOWN).forEach(v -> out.append("    ").append(v).append('\n'));
      if (c.violations().size() > SHOWN) {
        out.append("    ... ").append(c.violations().size() - SHOWN).append(" more\n");
      }
    }
    return out.toString();
  }

  public String json() {
    try {
      return Jsonl.MAPPER
          .writer()
          .with(SerializationFeature.INDENT_OUTPUT)
          .writeValueAsString(new Json(ok(), checks));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public void write(Path file) {
    try {
      java.nio.file.Files.writeString(file, json());
    } catch (IOException e) {
      throw new UncheckedIOException("could not write " + file, e);
    }
  }

  private record Json(boolean ok, List<CheckResult> checks) {}
}
