-- The saga index: one row per saga, written only by SagaIndexProjection, read by SagaIndex.
--
-- status_before_failure: the status a FAILED saga returns to when an operator resumes it (RUNNING
--   or COMPENSATING). SagaResumed does not say which, so the projection remembers it when the saga
--   fails; NULL unless status = 'FAILED'.
-- seq_nr: the journal sequence number of the last event applied to the row. An event whose
--   sequence number is not higher is a replay and changes nothing, so replays are idempotent and a
--   row never moves back to an older status.
-- saga_id uses the "C" collation: keyset paging compares it byte-wise, the same on every server
--   whatever its locale, and faster.
CREATE TABLE saga_index (
  saga_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  type TEXT NOT NULL,
  version INT NOT NULL,
  status TEXT NOT NULL,
  created_at TIMESTAMPTZ NOT NULL,
  updated_at TIMESTAMPTZ NOT NULL,
  failure TEXT,
  status_before_failure TEXT,
  seq_nr BIGINT NOT NULL
);

-- Listing, newest first: unfiltered, by type, by status, by type and status. Every listing query
-- is "WHERE <filter> AND (created_at, saga_id) < (cursor) ORDER BY created_at DESC, saga_id DESC
-- LIMIT n", which each of these serves as an index range scan with no sort.
CREATE INDEX saga_index_created_idx ON saga_index (created_at DESC, saga_id DESC);
CREATE INDEX saga_index_type_created_idx ON saga_index (type, created_at DESC, saga_id DESC);
CREATE INDEX saga_index_status_created_idx ON saga_index (status, created_at DESC, saga_id DESC);
CREATE INDEX saga_index_type_status_created_idx
  ON saga_index (type, status, created_at DESC, saga_id DESC);

-- The recovery sweep pages through the sagas that are not terminal by saga_id. Only those rows
-- are in this index, so it stays small however many finished sagas the table holds. The sweep's
-- query must repeat the predicate literally for the planner to use it.
CREATE INDEX saga_index_non_terminal_idx ON saga_index (saga_id)
  WHERE status IN ('RUNNING', 'COMPENSATING');

-- The offset store of pekko-projection-jdbc 1.0.0 (PostgresDialect with the default settings:
-- pekko.projection.jdbc.offset-store.table, management-table, use-lowercase-schema = true), as in
-- pekko-projection's examples/src/test/resources/create-table-postgres.sql. The dialect quotes its
-- identifiers in lower case, which matches these unquoted names. IF NOT EXISTS dropped: Flyway
-- owns this fresh schema.
CREATE TABLE pekko_projection_offset_store (
  projection_name VARCHAR(255) NOT NULL,
  projection_key VARCHAR(255) NOT NULL,
  current_offset VARCHAR(255) NOT NULL,
  manifest VARCHAR(4) NOT NULL,
  mergeable BOOLEAN NOT NULL,
  last_updated BIGINT NOT NULL,
  PRIMARY KEY(projection_name, projection_key)
);

CREATE INDEX projection_name_index ON pekko_projection_offset_store (projection_name);

CREATE TABLE pekko_projection_management (
  projection_name VARCHAR(255) NOT NULL,
  projection_key VARCHAR(255) NOT NULL,
  paused BOOLEAN NOT NULL,
  last_updated BIGINT NOT NULL,
  PRIMARY KEY(projection_name, projection_key)
);
