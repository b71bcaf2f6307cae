-- Publishing one event as Herald does when its own dispatcher takes the deliveries (the direct
-- hand-off), for pgbench (-M prepared): the event and one delivery per subscribed endpoint,
-- leased to this process in the same statement, no wake-up, one commit.
-- (scripts/ceiling/record.sql records them; no claim.)
\set n random(1, 1000000000)
BEGIN;
INSERT INTO events (id, type, body, created_at)
VALUES (herald_uuid_v7(now()), 'user.created',
        '{"id":"evt_0","type":"user.created","created_at":"2026-11-30T00:00:00.000Z","data":{"user_id":"usr_' || :n || '"}}',
        now())
RETURNING id AS event_id \gset
INSERT INTO deliveries (id, event_id, endpoint_id, event_type, status, next_attempt_at,
                        leased_by, created_at)
SELECT herald_uuid_v7(now()), :event_id, e.id, 'user.created', 'pending',
       now() + make_interval(secs => greatest(e.timeout_ms / 1000.0, 10) + 15), 1, now()
FROM endpoints e
WHERE e.deleted_at IS NULL AND e.enabled
  AND (e.event_types = '{}' OR 'user.created' = ANY (e.event_types));
COMMIT;
