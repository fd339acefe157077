package io.sagaflow.sagas;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes what Scala code prints on its {@code Console} a log event of the logger {@code
 * scala.Console}, one a line, so that the node's stdout holds log lines only: with {@code
 * SAGAFLOW_LOG_FORMAT=json} a pipeline must be able to read every line as JSON. Pekko Projection
 * 1.0.0 prints {@code # stop <projection>} with {@code println} whenever a projection stops, and
 * Pekko's own stdout logger prints there before logback takes over.
 */
final class ScalaConsole {
  private ScalaConsole() {}

  /** Call before any Scala code prints: Scala's Console keeps the System.out it first sees. */
  static void intoLog() {
    PrintStream stdout = System.out;
    System.setOut(
        new PrintStream(
            new Lines(LoggerFactory.getLogger("scala.Console")), true, StandardCharsets.UTF_8));
    try {
      scala.Console.out();
    } finally {
      System.setOut(stdout);
    }
  }

  /** Logs each line written to it. */
  private static final class Lines extends OutputStream {
    private final Logger log;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();

    Lines(Logger log) {
      this.log = log;
    }

    @Override
    public synchronized void write(int b) {
      if (b == '\n') {
        String text = line.toString(StandardCharsets.UTF_8);
        line.reset();
        log.info("{}", text.endsWith("\r") ? text.substring(0, text.length() - 1) : text);
      } else {
        line.write(b);
      }
    }
  }
}
