package io.sagaflow.k8s;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The metric names that the monitoring component's PromQL uses (the Grafana dashboard's queries and
 * variables, the PrometheusRule's expressions), and the names a Prometheus scrape exposes: so that
 * a test can hold every panel and alert to the metrics a node really has.
 *
 * <p>The PromQL is read by a small tokenizer, not a parser: Grafana variables, strings, label
 * matchers, ranges and the label lists of {@code by}, {@code without}, {@code on}, {@code ignoring}
 * and {@code group_left/right} are dropped; what is left of each identifier that is not a function
 * call, a keyword or a number is a metric name, as written (e.g. {@code x_bucket}).
 */
public final class MetricNames {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static final Pattern GRAFANA_VARIABLE = Pattern.compile("\\$\\{[^}]*}|\\$\\w+");
  private static final Pattern STRING =
      Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"|'(?:[^'\\\\]|\\\\.)*'|`[^`]*`");
  private static final Pattern COMMENT = Pattern.compile("#[^\\n]*");
  private static final Pattern MATCHERS = Pattern.compile("\\{[^}]*}");
  private static final Pattern RANGE = Pattern.compile("\\[[^]]*]");
  private static final Pattern LABEL_LIST =
      Pattern.compile("\\b(?:by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
  private static final Pattern TOKEN =
      Pattern.compile("(\\d[\\w.]*(?:[eE][+-]?\\d+)?)|([A-Za-z_:][\\w:]*)(\\s*\\()?");
  private static final Set<String> KEYWORDS =
      Set.of(
          "and",
          "or",
          "unless",
          "bool",
          "offset",
          "by",
          "without",
          "on",
          "ignoring",
          "group_left",
          "group_right",
          "inf",
          "nan",
          "atan2");
  private static final Pattern LABEL_VALUES =
      Pattern.compile("^\\s*label_values\\((.*),\\s*[A-Za-z_]\\w*\\s*\\)\\s*$", Pattern.DOTALL);
  private static final Pattern QUERY_RESULT =
      Pattern.compile("^\\s*query_result\\((.*)\\)\\s*$", Pattern.DOTALL);
  private static final Pattern SAMPLE = Pattern.compile("^([A-Za-z_:][\\w:]*)");
  private static final Pattern TYPE_LINE = Pattern.compile("^#\\s*TYPE\\s+([A-Za-z_:][\\w:]*)\\s");
  private static final Pattern SERIES_SUFFIX = Pattern.compile("_(?:bucket|count|sum|total)$");

  private MetricNames() {}

  /** Every metric name that the dashboards and rules in {@code componentDir} use. */
  public static Set<String> metricNamesUsed(Path componentDir) {
    var names = new TreeSet<String>();
    for (String expression : expressions(componentDir)) {
      names.addAll(inExpression(expression));
    }
    // A recording rule's name is made by Prometheus, not scraped.
    names.removeAll(recordedNames(componentDir));
    return names;
  }

  /** The metric names in one PromQL expression (or Grafana variable query). */
  public static Set<String> inExpression(String promql) {
    String query = promql;
    Matcher labelValues = LABEL_VALUES.matcher(query);
    if (labelValues.matches()) {
      query = labelValues.group(1);
    } else if (query.trim().startsWith("label_values(")) {
      return Set.of(); // label_values(label): of every metric
    }
    Matcher queryResult = QUERY_RESULT.matcher(query);
    if (queryResult.matches()) {
      query = queryResult.group(1);
    }
    query = GRAFANA_VARIABLE.matcher(query).replaceAll("");
    query = STRING.matcher(query).replaceAll(" ");
    query = COMMENT.matcher(query).replaceAll(" ");
    query = MATCHERS.matcher(query).replaceAll(" ");
    query = RANGE.matcher(query).replaceAll(" ");
    query = LABEL_LIST.matcher(query).replaceAll(" ");
    var names = new TreeSet<String>();
    Matcher token = TOKEN.matcher(query);
    while (token.find()) {
      String identifier = token.group(2);
      boolean call = token.group(3) != null;
      if (identifier != null && !call && !KEYWORDS.contains(identifier.toLowerCase())) {
        names.add(identifier);
      }
    }
    return names;
  }

  /**
   * The used names that {@code exposed} lacks. A name counts as exposed if it is there as written,
   * or, for a series of a histogram, summary or counter ({@code _bucket}, {@code _count}, {@code
   * _sum}, {@code _total}), if its family's name is: so {@code exposed} may be the sample names of
   * a scrape, the family names of its {@code # TYPE} lines, or both ({@link #exposedIn}).
   */
  public static Set<String> notExposed(Set<String> used, Set<String> exposed) {
    var missing = new TreeSet<String>();
    for (String name : used) {
      if (!exposed.contains(name)
          && !exposed.contains(SERIES_SUFFIX.matcher(name).replaceFirst(""))) {
        missing.add(name);
      }
    }
    return missing;
  }

  /** The sample names and family names in a scrape in Prometheus's text format. */
  public static Set<String> exposedIn(String scrape) {
    var names = new TreeSet<String>();
    for (String line : scrape.split("\n")) {
      Matcher type = TYPE_LINE.matcher(line);
      if (type.find()) {
        names.add(type.group(1));
      } else if (!line.startsWith("#")) {
        Matcher sample = SAMPLE.matcher(line);
        if (sample.find()) {
          names.add(sample.group(1));
        }
      }
    }
    return names;
  }

  /** The PromQL of every dashboard panel and variable and every rule in {@code componentDir}. */
  public static List<String> expressions(Path componentDir) {
    var expressions = new ArrayList<String>();
    for (Path file : files(componentDir)) {
      String name = file.getFileName().toString();
      if (name.endsWith(".json")) {
        JsonNode dashboard = readJson(file);
        collectExpr(dashboard.path("panels"), expressions);
        for (JsonNode variable : dashboard.path("templating").path("list")) {
          if (variable.path("type").asText().equals("query")) {
            JsonNode query = variable.path("query");
            expressions.add(query.isObject() ? query.path("query").asText() : query.asText());
          }
        }
      } else if (isRules(file)) {
        for (JsonNode rule : rules(file)) {
          expressions.add(rule.path("expr").asText());
        }
      }
    }
    return expressions;
  }

  private static Set<String> recordedNames(Path componentDir) {
    var names = new TreeSet<String>();
    for (Path file : files(componentDir)) {
      if (isRules(file)) {
        for (JsonNode rule : rules(file)) {
          if (rule.has("record")) {
            names.add(rule.get("record").asText());
          }
        }
      }
    }
    return names;
  }

  /** The rules of every group of the PrometheusRule objects in {@code file}. */
  static List<JsonNode> rules(Path file) {
    var rules = new ArrayList<JsonNode>();
    for (JsonNode object : Kustomize.readAll(file)) {
      if (object.path("kind").asText().equals("PrometheusRule")) {
        for (JsonNode group : object.path("spec").path("groups")) {
          group.path("rules").forEach(rules::add);
        }
      }
    }
    return rules;
  }

  private static boolean isRules(Path file) {
    String name = file.getFileName().toString();
    return (name.endsWith(".yaml") || name.endsWith(".yml"))
        && Kustomize.readAll(file).stream()
            .anyMatch(o -> o.path("kind").asText().equals("PrometheusRule"));
  }

  /** Every panel's targets' {@code expr}, rows' nested panels included. */
  private static void collectExpr(JsonNode panels, List<String> expressions) {
    for (JsonNode panel : panels) {
      for (JsonNode target : panel.path("targets")) {
        if (target.has("expr")) {
          expressions.add(target.get("expr").asText());
        }
      }
      collectExpr(panel.path("panels"), expressions);
    }
  }

  private static List<Path> files(Path dir) {
    try (Stream<Path> files = Files.list(dir)) {
      return files.filter(Files::isRegularFile).sorted().toList();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static JsonNode readJson(Path file) {
    try {
      return JSON.readTree(file.toFile());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
