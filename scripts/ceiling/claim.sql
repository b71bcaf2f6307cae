-- A lane's claim as Herald does it, for pgbench (-M prepared): up to 250 due deliveries leased
-- under SKIP LOCKED. scripts/ceiling/record.sql then records them.
WITH due AS (
    SELECT id, endpoint_id FROM deliveries
    WHERE status IN ('pending', 'retrying') AND next_attempt_at <= now()
    ORDER BY next_attempt_at LIMIT 250 FOR UPDATE SKIP LOCKED
), longest AS (
    SELECT max(e.timeout_ms) AS ms FROM endpoints e WHERE e.id IN (SELECT endpoint_id FROM due)
)
UPDATE deliveries d
SET next_attempt_at = now() + make_interval(secs => greatest((SELECT ms FROM longest) / 1000.0, 10) + 15),
    leased_by = 1
FROM due WHERE d.id = due.id
RETURNING d.id, d.event_id, d.endpoint_id, d.attempt_count, d.queued_trigger, d.queued_by, d.next_attempt_at;
