-- Durable timers: one row per saga that left memory to wait (a retry's backoff, or its deadline
-- when that comes first), written by the saga itself (SagaTimers) before it asks to be
-- passivated, read in due-time order by the timer poller (one per cluster), which wakes the saga
-- through sharding and then deletes the row. The happy path writes none.
--
-- due_at: when the saga next needs to run.
-- seq_nr: the saga's last journal sequence number when it wrote the row. Once the journal holds a
--   later event of the saga (it was cancelled meanwhile, say), the row no longer says what the saga
--   waits for: the recovery sweep then treats the saga as not waiting (it wakes it), and the row
--   only costs one harmless wake when it falls due.
-- Not a column of saga_index: that table is written only by the index projection, which runs
-- behind the journal; a saga must not leave memory on a due time that is not durable yet.
CREATE TABLE saga_timer (
  saga_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  due_at TIMESTAMPTZ NOT NULL,
  seq_nr BIGINT NOT NULL
);

-- The poller reads "due_at <= now + look-ahead ORDER BY due_at LIMIT n" by this index's range.
CREATE INDEX saga_timer_due_idx ON saga_timer (due_at);
