-- The saga's deadline (from its SagaStarted; NULL when its type has none), so that the index can
-- list the sagas that are still unfinished after it: the "needs attention" view of the web UI and
-- GET /v1/sagas?overdue=true. Rows written before this column existed keep NULL (an index rebuilt
-- from the journal fills it).
ALTER TABLE saga_index ADD COLUMN deadline TIMESTAMPTZ;

-- Only unfinished sagas with a deadline are in it, so it stays small however many sagas the table
-- holds. The listing's query repeats the predicate literally for the planner to use it.
CREATE INDEX saga_index_overdue_idx ON saga_index (deadline)
  WHERE status IN ('RUNNING', 'COMPENSATING') AND deadline IS NOT NULL;
