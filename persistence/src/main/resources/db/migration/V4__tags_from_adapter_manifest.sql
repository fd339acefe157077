-- Tags without pekko-persistence-jdbc's slow path. When an event is tagged the plugin's way, it
-- inserts each journal row of a batch with its own INSERT ... RETURNING (to learn the row's ordering
-- for its event_tag row); untagged rows go in one multi-row INSERT. Sagaflow's entities therefore
-- put an event's tag in the row's adapter manifest, as 'tag:<tag>', and this trigger files the
-- event under that tag in the same transaction. The plugin's own tagging keeps working beside it.
CREATE FUNCTION event_tag_from_adapter_manifest() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO event_tag(event_id, tag) VALUES (NEW.ordering, substr(NEW.adapter_manifest, 5));
  RETURN NULL;
END
$$;

CREATE TRIGGER event_tag_from_adapter_manifest
  AFTER INSERT ON event_journal
  FOR EACH ROW
  WHEN (NEW.adapter_manifest LIKE 'tag:%')
  EXECUTE FUNCTION event_tag_from_adapter_manifest();
