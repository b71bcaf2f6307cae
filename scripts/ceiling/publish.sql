-- Publishing one event as Herald does, for pgbench (-M prepared): the event and one delivery
-- per subscribed endpoint, one wake-up, one commit. With `-D handed=true` the deliveries are
-- leased to the publishing process in the same statement, as the direct hand-off does (the
-- scripts then drop the wake-up, which Herald does not send for them). scripts/ceiling/
-- claim.sql and record.sql are the dispatcher's side.
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
       CASE WHEN :handed THEN now() + make_interval(secs => greatest(e.timeout_ms / 1000.0, 10) + 15)
            ELSE now() END,
       CASE WHEN :handed THEN 1 END, now()
FROM endpoints e
WHERE e.deleted_at IS NULL AND e.enabled
  AND (e.event_types = '{}' OR 'user.created' = ANY (e.event_types));
SELECT pg_notify('herald_deliveries', '');
COMMIT;
