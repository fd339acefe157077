package io.sagaflow.persistence.index;

/** The saga index could not be read: the database is unreachable or failed the query. */
public final class IndexUnavailableException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  public IndexUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
