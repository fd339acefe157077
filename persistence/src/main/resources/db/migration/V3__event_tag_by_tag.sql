-- The saga index projection reads the journal by tag (pekko-persistence-jdbc's eventsByTag joins
-- event_tag on tag and an ordering range). event_tag's primary key starts with event_id, so without
-- this index the planner scans event_tag, and on a fresh database (no statistics yet) it does so
-- once per journal row of the range: each poll of each projection grew with the table.
CREATE INDEX IF NOT EXISTS event_tag_tag_event_id_idx ON event_tag(tag, event_id);
