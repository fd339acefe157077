package io.sagaflow.sagas;

import ch.qos.logback.core.PropertyDefinerBase;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * Which console appender the node's logback.xml includes: {@code json} (one JSON object a line)
 * when the setting {@value #SETTING} says so, as a system property or else an environment variable;
 * {@code text} otherwise. A value that is neither is logged as text, with a warning that makes
 * logback print its startup status, rather than naming a file that does not exist, which would
 * silence the node.
 */
public final class LogFormat extends PropertyDefinerBase {

  /** The setting's name, as an environment variable and as a system property. */
  public static final String SETTING = "SAGAFLOW_LOG_FORMAT";

  @Override
  public String getPropertyValue() {
    return appender(System.getProperty(SETTING, System.getenv(SETTING)), this::addWarn);
  }

  /** The appender for {@code value} (null when the setting is absent); tells {@code warn} why. */
  static String appender(String value, Consumer<String> warn) {
    String format = value == null ? "" : value.trim().toLowerCase(Locale.ROOT);
    if (format.equals("json")) {
      return "json";
    }
    if (!format.isEmpty() && !format.equals("text")) {
      warn.accept(SETTING + "='" + value + "' is neither text nor json: logging text");
    }
    return "text";
  }
}
