package io.sagaflow.orchestrator.testing;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.util.List;
import org.slf4j.LoggerFactory;

/**
 * Captures what is logged while it is open: a logback {@link ListAppender} on the root logger. Each
 * event is prepared as it is logged, so that it keeps the MDC and thread it was logged with (a
 * logback event otherwise reads the MDC when first asked, on the asking thread).
 */
public final class LogCapture implements AutoCloseable {
  private final Logger root = (Logger) LoggerFactory.getLogger(Logger.ROOT_LOGGER_NAME);
  private final ListAppender<ILoggingEvent> appender =
      new ListAppender<>() {
        @Override
        protected void append(ILoggingEvent event) {
          event.prepareForDeferredProcessing();
          synchronized (this) {
            super.append(event);
          }
        }
      };

  private LogCapture() {
    appender.setContext(root.getLoggerContext());
    appender.start();
    root.addAppender(appender);
  }

  /** Captures every event that passes the configured levels from now until {@link #close}. */
  public static LogCapture start() {
    return new LogCapture();
  }

  /** The events captured so far, in the order they were logged. */
  public List<ILoggingEvent> events() {
    synchronized (appender) {
      return List.copyOf(appender.list);
    }
  }

  /** The events of loggers whose name starts with {@code prefix}. */
  public List<ILoggingEvent> events(String prefix) {
    return events().stream().filter(e -> e.getLoggerName().startsWith(prefix)).toList();
  }

  @Override
  public void close() {
    root.detachAppender(appender);
    appender.stop();
  }
}
