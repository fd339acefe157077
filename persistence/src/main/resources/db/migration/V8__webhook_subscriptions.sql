-- Webhook subscriptions: one row per subscription, written through the API (SubscriptionStore).
-- Each is delivered by its own projection ('webhook', id), whose offset lives in
-- pekko_projection_offset_store beside the saga index's.
--
-- events: the public names of the event types delivered (EventType), comma-separated; '' = all.
-- secret: the Standard Webhooks signing secret ('whsec_' + base64); never returned by the API.
-- start_offset: the journal ordering the subscription starts after (the newest saga event when it
--   was created), used until its projection has stored an offset of its own.
-- status: ACTIVE, or PARKED after its endpoint kept failing (parked_reason says how); an operator
--   resumes it, from its offset.
CREATE TABLE webhook_subscription (
  id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
  url TEXT NOT NULL,
  events TEXT NOT NULL,
  secret TEXT NOT NULL,
  start_offset BIGINT NOT NULL,
  status TEXT NOT NULL,
  parked_reason TEXT,
  parked_at TIMESTAMPTZ,
  created_at TIMESTAMPTZ NOT NULL
);
