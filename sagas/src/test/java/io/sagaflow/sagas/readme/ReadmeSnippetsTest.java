package io.sagaflow.sagas.readme;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * README's Java snippets are code of this package, compiled with the build: each {@code ```java}
 * block after a {@code <!-- snippet: name -->} marker must read exactly as the lines between {@code
 * // snippet: name} and {@code // end snippet} in a source file here (indentation aside), and every
 * such region must be quoted in README. A change to the DSL that breaks an example breaks the
 * build, and README cannot drift from code that compiles.
 */
class ReadmeSnippetsTest {

  private static final Path MODULE =
      Path.of(System.getProperty("basedir", ".")).toAbsolutePath().normalize();
  private static final Path README = MODULE.resolveSibling("README.md");
  private static final Path SOURCES = MODULE.resolve("src/test/java/io/sagaflow/sagas/readme");

  private static final Pattern MARKER =
      Pattern.compile(
          "<!--\\s*snippet:\\s*([a-z0-9-]+)\\s*-->\\s*\\n```java\\n(.*?)\\n```", Pattern.DOTALL);
  private static final Pattern REGION =
      Pattern.compile(
          "^\\s*// snippet: ([a-z0-9-]+)\\n(.*?)^\\s*// end snippet$",
          Pattern.DOTALL | Pattern.MULTILINE);

  @Test
  void everyJavaSnippetInReadmeIsCodeThatCompilesAndEveryRegionIsQuoted() throws IOException {
    Map<String, String> quoted = snippets(Files.readString(README));
    Map<String, String> code = regions();

    assertThat(quoted.keySet())
        .as(
            "the <!-- snippet: name --> markers of README.md and the // snippet: regions of %s",
            SOURCES)
        .containsExactlyInAnyOrderElementsOf(code.keySet());
    for (var snippet : quoted.entrySet()) {
      assertThat(snippet.getValue())
          .as(
              "README's snippet '%s' (copy it from the source region to fix this)",
              snippet.getKey())
          .isEqualTo(code.get(snippet.getKey()));
    }
  }

  private static Map<String, String> snippets(String readme) {
    var found = new LinkedHashMap<String, String>();
    Matcher m = MARKER.matcher(readme);
    while (m.find()) {
      assertThat(found.put(m.group(1), dedent(m.group(2))))
          .as("snippet '%s' appears once in README", m.group(1))
          .isNull();
    }
    return found;
  }

  private static Map<String, String> regions() throws IOException {
    var found = new LinkedHashMap<String, String>();
    try (Stream<Path> files = Files.list(SOURCES)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".java")).sorted().toList()) {
        Matcher m = REGION.matcher(Files.readString(file));
        while (m.find()) {
          assertThat(found.put(m.group(1), dedent(m.group(2))))
              .as("region '%s' is defined once", m.group(1))
              .isNull();
        }
      }
    }
    return found;
  }

  /** The lines without their common indentation, blank lines at either end dropped. */
  static String dedent(String text) {
    List<String> lines = new ArrayList<>(text.lines().map(String::stripTrailing).toList());
    while (!lines.isEmpty() && lines.get(0).isBlank()) {
      lines.remove(0);
    }
    while (!lines.isEmpty() && lines.get(lines.size() - 1).isBlank()) {
      lines.remove(lines.size() - 1);
    }
    int indent =
        lines.stream()
            .filter(l -> !l.isBlank())
            .mapToInt(l -> l.length() - l.stripLeading().length())
            .min()
            .orElse(0);
    return String.join(
        "\n", lines.stream().map(l -> l.isBlank() ? "" : l.substring(indent)).toList());
  }
}
