package io.sagaflow.chaos.check;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.FileAppender;
import ch.qos.logback.core.filter.Filter;
import ch.qos.logback.core.spi.FilterReply;
import java.nio.file.Path;
import org.slf4j.LoggerFactory;

/**
 * A node's log in a test JVM that may run several nodes: a file appender on the root logger that
 * takes the events Pekko logged for that node, those whose MDC {@code pekkoAddress} is the node's
 * address (its actors: sagas, sharding, persistence, supervision). Events logged outside any actor
 * (e.g. the node's start-up) carry no address and are in no node's log. The pattern is a chaos
 * node's ({@code chaos-node-logback.xml}).
 */
final class NodeLog implements AutoCloseable {
  static final String PATTERN = "%d{HH:mm:ss.SSS} %-5level [%X{sagaId}] %logger{36} - %msg%n";

  private final Logger root;
  private final FileAppender<ILoggingEvent> appender;

  private NodeLog(Logger root, FileAppender<ILoggingEvent> appender) {
    this.root = root;
    this.appender = appender;
  }

  /** Logs what Pekko logs for the node at {@code address} ({@code pekko://sagaflow@host:port}). */
  static NodeLog attach(Path file, String address) {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    var encoder = new PatternLayoutEncoder();
    encoder.setContext(context);
    encoder.setPattern(PATTERN);
    encoder.start();
    var appender = new FileAppender<ILoggingEvent>();
    appender.setContext(context);
    appender.setName("node-log-" + address);
    appender.setFile(file.toString());
    appender.setEncoder(encoder);
    appender.addFilter(
        new Filter<>() {
          @Override
          public FilterReply decide(ILoggingEvent event) {
            return address.equals(event.getMDCPropertyMap().get("pekkoAddress"))
                ? FilterReply.NEUTRAL
                : FilterReply.DENY;
          }
        });
    appender.start();
    Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.addAppender(appender);
    return new NodeLog(root, appender);
  }

  @Override
  public void close() {
    root.detachAppender(appender);
    appender.stop();
  }
}
