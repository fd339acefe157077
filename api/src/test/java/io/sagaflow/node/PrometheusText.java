package io.sagaflow.node;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Predicate;

/**
 * A scrape in Prometheus' text format (0.0.4), parsed as an operator's tools would read it: one
 * sample per line, {@code name{label="value",...} value}; of the comments, each metric family's
 * {@code # TYPE}.
 */
record PrometheusText(List<Sample> samples, Map<String, String> types) {

  /** One line: a series (its name and labels) and its value. */
  record Sample(String name, Map<String, String> labels, double value) {
    /** The series, as a key: the name, then its labels in order. */
    String series() {
      return name + labels;
    }

    boolean has(Map<String, String> wanted) {
      return labels.entrySet().containsAll(wanted.entrySet());
    }
  }

  static PrometheusText parse(String text) {
    var samples = new ArrayList<Sample>();
    var types = new TreeMap<String, String>();
    for (String line : text.split("\n")) {
      if (line.startsWith("# TYPE ")) {
        String[] nameAndType = line.substring("# TYPE ".length()).split(" ");
        types.put(nameAndType[0], nameAndType[1]);
      }
      if (line.isBlank() || line.startsWith("#")) {
        continue;
      }
      samples.add(sample(line));
    }
    return new PrometheusText(List.copyOf(samples), Collections.unmodifiableMap(types));
  }

  /** The samples of {@code name} whose labels include {@code labels}. */
  List<Sample> find(String name, Map<String, String> labels) {
    return samples.stream().filter(s -> s.name().equals(name) && s.has(labels)).toList();
  }

  /** The one sample of {@code name} with these labels (and maybe others). */
  double value(String name, Map<String, String> labels) {
    List<Sample> found = find(name, labels);
    if (found.size() != 1) {
      throw new AssertionError(
          "expected one sample " + name + labels + ", found " + found.size() + ": " + found);
    }
    return found.get(0).value();
  }

  /** Series to value, of the samples {@code which} selects. */
  Map<String, Double> values(Predicate<Sample> which) {
    var values = new TreeMap<String, Double>();
    samples.stream().filter(which).forEach(s -> values.put(s.series(), s.value()));
    return values;
  }

  private static Sample sample(String line) {
    int i = 0;
    while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
      i++;
    }
    String name = line.substring(0, i);
    var labels = new TreeMap<String, String>();
    if (i < line.length() && line.charAt(i) == '{') {
      i++;
      while (line.charAt(i) != '}') {
        int eq = line.indexOf('=', i);
        String label = line.substring(i, eq);
        if (line.charAt(eq + 1) != '"') {
          throw new IllegalArgumentException("unquoted label value: " + line);
        }
        var value = new StringBuilder();
        int j = eq + 2;
        for (char c = line.charAt(j); c != '"'; c = line.charAt(++j)) {
          if (c == '\\') {
            char escaped = line.charAt(++j);
            value.append(escaped == 'n' ? '\n' : escaped);
          } else {
            value.append(c);
          }
        }
        labels.put(label, value.toString());
        i = j + 1;
        if (line.charAt(i) == ',') {
          i++;
        }
      }
      i++;
    }
    String[] rest = line.substring(i).trim().split(" ");
    return new Sample(name, Collections.unmodifiableMap(labels), parseValue(rest[0]));
  }

  private static double parseValue(String value) {
    return switch (value) {
      case "+Inf" -> Double.POSITIVE_INFINITY;
      case "-Inf" -> Double.NEGATIVE_INFINITY;
      case "NaN" -> Double.NaN;
      default -> Double.parseDouble(value);
    };
  }
}
