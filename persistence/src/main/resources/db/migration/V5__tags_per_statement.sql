-- The tag trigger of V4, run once per INSERT statement instead of once per row: the journal writes
-- a batch of many sagas' events as one multi-row INSERT, and a row trigger cost a PL/pgSQL call
-- and a single-row insert into event_tag for each of them. Same rows, same transaction.
DROP TRIGGER event_tag_from_adapter_manifest ON event_journal;
DROP FUNCTION event_tag_from_adapter_manifest();

CREATE FUNCTION event_tag_from_adapter_manifest() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO event_tag(event_id, tag)
    SELECT ordering, substr(adapter_manifest, 5) FROM inserted_rows
    WHERE adapter_manifest LIKE 'tag:%';
  RETURN NULL;
END
$$;

CREATE TRIGGER event_tag_from_adapter_manifest
  AFTER INSERT ON event_journal
  REFERENCING NEW TABLE AS inserted_rows
  FOR EACH STATEMENT
  EXECUTE FUNCTION event_tag_from_adapter_manifest();
