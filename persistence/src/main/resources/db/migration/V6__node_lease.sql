-- The node leases: one row per node incarnation (node = its cluster address and uid). A node may
-- write saga events only while its lease is valid by the database's own clock; every journal
-- insert checks it in the same statement (see JournalBatchWriter), so a node that was frozen past
-- the failure detector, and may have been declared down and replaced, cannot write when it wakes.
--
-- expires_at: renewed to clock_timestamp() + ttl every renew-interval by the node (NodeLeases).
-- fenced_at: set when the node gave its lease up for good; never renewed after that.
-- Rows of incarnations that expired long ago are deleted when a node acquires its lease.
CREATE TABLE sagaflow_node_lease (
  node TEXT NOT NULL PRIMARY KEY,
  acquired_at TIMESTAMPTZ NOT NULL,
  renewed_at TIMESTAMPTZ NOT NULL,
  expires_at TIMESTAMPTZ NOT NULL,
  fenced_at TIMESTAMPTZ
);
