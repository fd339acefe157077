package io.sagaflow.persistence.index;

import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.apache.pekko.japi.function.Function;
import org.apache.pekko.projection.jdbc.JdbcSession;

/**
 * One transaction of the index projection on a pooled connection, borrowed on first use and
 * returned by {@link #close()}. pekko-projection creates one per envelope (and per offset read), on
 * its blocking dispatcher, and uses it from one thread at a time.
 */
public final class IndexJdbcSession implements JdbcSession {

  private final DataSource dataSource;
  private Connection connection;

  /** {@code dataSource} must hand out connections with auto-commit off. */
  public IndexJdbcSession(DataSource dataSource) {
    this.dataSource = dataSource;
  }

  @Override
  public <R> R withConnection(Function<Connection, R> func) throws Exception {
    if (connection == null) {
      connection = dataSource.getConnection();
    }
    return func.apply(connection);
  }

  @Override
  public void commit() throws SQLException {
    if (connection != null) {
      connection.commit();
    }
  }

  @Override
  public void rollback() throws SQLException {
    if (connection != null) {
      connection.rollback();
    }
  }

  @Override
  public void close() throws SQLException {
    if (connection != null) {
      Connection borrowed = connection;
      connection = null;
      borrowed.close();
    }
  }
}
