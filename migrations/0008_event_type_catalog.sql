-- The event-type catalog becomes something admins manage: an optional JSON Schema that
-- published data must match (kept as the JSON text, since jsonb cannot hold a "\u0000" that a
-- schema may name), and an archived flag that refuses new events of the type while its history
-- (events, deliveries, filters) stays.
ALTER TABLE event_types
    ADD COLUMN schema      text,
    ADD COLUMN archived_at timestamptz,
    ADD COLUMN updated_at  timestamptz NOT NULL DEFAULT now();
