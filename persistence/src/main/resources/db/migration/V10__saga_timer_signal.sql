-- The signal a saga waits for, with its durable timer: every signal wait writes its timer (a
-- short one too, which stays in memory), so that GET /v1/sagas?waitingFor= lists the sagas
-- waiting for a signal. NULL for a backoff's timer.
--
-- signal: the name of the signal the saga waits for.
-- waiting_since: when its wait began (the step's timeout counts from there).
--
-- A row counts only while the saga's journal ends at its seq_nr (see V7): the saga clears it
-- when it writes its next event, and readers check it against the journal in case it could not.
ALTER TABLE saga_timer ADD COLUMN signal TEXT, ADD COLUMN waiting_since TIMESTAMPTZ;

CREATE INDEX saga_timer_signal_idx ON saga_timer (signal) WHERE signal IS NOT NULL;
