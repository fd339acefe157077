package io.sagaflow.chaos.format;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The run's files: one JSON object per line. A writer is shared by threads and flushes every line,
 * so that a process killed mid-run leaves every line it wrote complete; a reader skips a last line
 * cut short by such a kill.
 */
public final class Jsonl {
  public static final ObjectMapper MAPPER =
      new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  private Jsonl() {}

  /** Every complete line of {@code file} as {@code type}; empty when the file does not exist. */
  public static <T> List<T> read(Path file, Class<T> type) {
    if (!Files.exists(file)) {
      return List.of();
    }
    try {
      List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
      List<T> out = new ArrayList<>(lines.size());
      for (int i = 0; i < lines.size(); i++) {
        String line = lines.get(i);
        if (line.isBlank()) {
          continue;
        }
        try {
          out.add(MAPPER.readValue(line, type));
        } catch (IOException e) {
          if (i == lines.size() - 1) {
            break; // the last line, cut short by a kill
          }
          throw new IllegalStateException(file + " line " + (i + 1) + ": " + e.getMessage(), e);
        }
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException("could not read " + file, e);
    }
  }

  /** Appends lines to a file; thread-safe. */
  public static final class Writer implements AutoCloseable {
    private final BufferedWriter out;

    public Writer(Path file) {
      try {
        Files.createDirectories(file.toAbsolutePath().getParent());
        this.out =
            Files.newBufferedWriter(
                file,
                StandardCharsets.UTF_8,
                StandardOpenOption.CREATE,
                StandardOpenOption.APPEND,
                StandardOpenOption.WRITE);
      } catch (IOException e) {
        throw new UncheckedIOException("could not open " + file, e);
      }
    }

    public synchronized void write(Object line) {
      try {
        out.write(MAPPER.writeValueAsString(line));
        out.write('\n');
        out.flush();
      } catch (IOException e) {
        throw new UncheckedIOException("could not write a line", e);
      }
    }

    @Override
    public synchronized void close() {
      try {
        out.close();
      } catch (IOException e) {
        throw new UncheckedIOException("could not close", e);
      }
    }
  }
}
