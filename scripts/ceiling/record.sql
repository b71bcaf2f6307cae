-- The result writer's transaction as Herald does it, for pgbench (-M prepared): up to 250
-- leased deliveries (by a claim, scripts/ceiling/claim.sql, or by the publish that made them,
-- scripts/ceiling/publish.sql with handed=true) get their attempts and are settled, one statement per
-- table. Endpoint health is not here: Herald counts it in memory and writes it about once a
-- second, not per delivery.
BEGIN;
WITH mine AS (
    SELECT id, endpoint_id, next_attempt_at AS lease FROM deliveries
    WHERE status = 'pending' AND next_attempt_at > now()
    ORDER BY next_attempt_at LIMIT 250 FOR UPDATE SKIP LOCKED
), attempts AS (
    INSERT INTO delivery_attempts (id, delivery_id, attempt_number, trigger, triggered_by,
        started_at, duration_ms, request_url, request_headers, response_status,
        response_headers, response_body, response_body_truncated, error_class, error_message)
    SELECT herald_uuid_v7(now()), id, 1, 'auto', NULL, now(), 3, 'http://127.0.0.1:18080/hook',
        '[["content-type","application/json"],["webhook-id","msg_0"],["webhook-signature","v1,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx="]]'::jsonb,
        204, '\x'::bytea, '\x'::bytea, false, NULL, NULL
    FROM mine
    RETURNING delivery_id
)
UPDATE deliveries d
SET status = 'succeeded', attempt_count = 1, next_attempt_at = NULL, last_attempt_at = now(),
    last_response_status = 204, last_error_class = NULL, last_duration_ms = 3,
    queued_trigger = NULL, queued_by = NULL, leased_by = NULL, updated_at = now()
FROM mine WHERE d.id = mine.id AND d.next_attempt_at = mine.lease;
COMMIT;
