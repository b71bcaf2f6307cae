-- Herald's complete schema.
--
-- Ids are UUID v7: their first 48 bits are the creation time in milliseconds. That makes the
-- high-volume log tables (events, deliveries, delivery_attempts) partitionable by id range,
-- one partition per UTC day. Partitioning by the id itself (not by a separate created_at)
-- keeps the primary key a plain `id`, lets a lookup by id prune to a single partition, and
-- lets retention drop whole days instead of running DELETE storms.

-- The smallest UUID v7 whose timestamp is `ts`: the lower bound of a day's partition.
CREATE FUNCTION herald_uuid_floor(ts timestamptz) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (lpad(to_hex(floor(extract(epoch FROM ts) * 1000)::bigint), 12, '0')
            || '00000000000000000000')::uuid
$$;

-- A UUID v7 for time `ts` with random low bits; used by SQL-side bulk generators (benchmarks).
CREATE FUNCTION herald_uuid_v7(ts timestamptz) RETURNS uuid
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT (lpad(to_hex(floor(extract(epoch FROM ts) * 1000)::bigint), 12, '0')
            || '7' || substr(md5(random()::text), 1, 3)
            || '8' || substr(md5(random()::text), 1, 15))::uuid
$$;

-------------------------------------------------------------------------------------------
-- People and access
-------------------------------------------------------------------------------------------

CREATE TABLE users (
    id             uuid PRIMARY KEY,
    email          text NOT NULL CHECK (email = lower(email) AND position('@' IN email) > 1),
    password_hash  text NOT NULL,                     -- argon2id PHC string
    role           text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    disabled_at    timestamptz,                       -- disabled users keep their audit trail
    created_at     timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz
);
-- Emails are stored lower-cased (CHECK above), so a plain unique constraint is case-blind.
ALTER TABLE users ADD CONSTRAINT users_email_key UNIQUE (email);

-- Portal sessions. Only a SHA-256 of the cookie value is stored, so a copy of this table does
-- not let anyone sign in. Rows are tied to the user so disabling a user ends their sessions.
CREATE TABLE sessions (
    token_hash  bytea PRIMARY KEY,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- REST API keys: shown once at creation, stored as SHA-256 (the keys are long random strings,
-- so a fast hash is enough; argon2 would make every API call pay for a password hash).
CREATE TABLE api_keys (
    id            uuid PRIMARY KEY,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    prefix        text NOT NULL,                      -- first characters, to recognise a key
    key_hash      bytea NOT NULL CONSTRAINT api_keys_key_hash_key UNIQUE,
    created_by    uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

-- Every admin write: sign-ins, endpoint changes, secret reveals, retries, user and key changes.
CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    actor_id    uuid REFERENCES users (id) ON DELETE SET NULL,
    actor       text NOT NULL,                        -- email or "api-key:<name>", kept if the user goes
    action      text NOT NULL,                        -- e.g. endpoint.create, delivery.retry
    target      text NOT NULL DEFAULT '',
    details     jsonb NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_created ON audit_log (created_at DESC, id DESC);
CREATE INDEX audit_log_actor ON audit_log (actor_id, created_at DESC);
CREATE INDEX audit_log_action ON audit_log (action, created_at DESC);

-------------------------------------------------------------------------------------------
-- Configuration: event types and endpoints
-------------------------------------------------------------------------------------------

-- A small catalog that feeds the log's filters, the endpoint form and test events.
CREATE TABLE event_types (
    name             text PRIMARY KEY CHECK (name ~ '^[a-z0-9_]+(\.[a-z0-9_]+)+$'),
    description      text NOT NULL DEFAULT '',
    example_payload  text NOT NULL DEFAULT '{}',
    created_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE endpoints (
    id                          uuid PRIMARY KEY,
    name                        text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    url                         text NOT NULL CHECK (url ~ '^https?://'),
    description                 text NOT NULL DEFAULT '',
    -- Subscribed event types; empty means every type.
    event_types                 text[] NOT NULL DEFAULT '{}',
    enabled                     boolean NOT NULL DEFAULT true,
    disabled_reason             text,                 -- set when Herald disabled it (410, failing too long)
    -- whsec_… secrets encrypted with AES-256-GCM (nonce || ciphertext) under the server key.
    secret_encrypted            bytea NOT NULL,
    -- During a rotation both secrets sign, until previous_secret_expires_at.
    previous_secret_encrypted   bytea,
    previous_secret_expires_at  timestamptz,
    -- [[name, value], …] in the order the admin gave; values may be sensitive (masked in logs).
    custom_headers              jsonb NOT NULL DEFAULT '[]',
    -- X-Webhook-Signature flavour: seed 001 (timestamp.body), seed 002 (body only), or none.
    -- Standard Webhooks headers are always sent.
    signature_scheme            text NOT NULL DEFAULT 'timestamped'
                                CHECK (signature_scheme IN ('timestamped', 'body', 'off')),
    rate_limit_per_sec          integer CHECK (rate_limit_per_sec > 0),
    max_in_flight               integer CHECK (max_in_flight > 0),
    retry_schedule_secs         integer[],            -- NULL: the server's schedule
    timeout_ms                  integer CHECK (timeout_ms BETWEEN 100 AND 60000),
    failing_since               timestamptz,          -- first failure after the last success
    last_success_at             timestamptz,
    -- Soft delete: the log keeps showing the deliveries of a deleted endpoint by name.
    deleted_at                  timestamptz,
    created_at                  timestamptz NOT NULL DEFAULT now(),
    updated_at                  timestamptz NOT NULL DEFAULT now()
);
-- Names are unique among live endpoints (the form reports a clash as a field error).
CREATE UNIQUE INDEX endpoints_name_key ON endpoints (lower(name)) WHERE deleted_at IS NULL;

-------------------------------------------------------------------------------------------
-- The log: events, deliveries, attempts (partitioned by day through their UUID v7 ids)
-------------------------------------------------------------------------------------------

-- body is the exact envelope text {"id","type","created_at","data"} that is signed and sent.
-- It is text, not jsonb: jsonb reorders keys and drops whitespace, which would change the
-- bytes and break signatures.
CREATE TABLE events (
    id          uuid NOT NULL PRIMARY KEY,
    type        text NOT NULL,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL
) PARTITION BY RANGE (id);
CREATE INDEX events_type ON events (type, id DESC);

-- A unique index on a partitioned table must contain the partition key, so idempotency keys
-- live in their own small table; retention prunes it with the events.
CREATE TABLE idempotency_keys (
    key         text PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 200),
    event_id    uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);

-- One row per event × endpoint. No foreign keys to events or across partitions: retention
-- drops a day of events, deliveries and attempts together, and foreign keys between
-- partitioned tables would block that. The publish transaction keeps them consistent.
CREATE TABLE deliveries (
    id                    uuid NOT NULL PRIMARY KEY,
    event_id              uuid NOT NULL,
    endpoint_id           uuid NOT NULL REFERENCES endpoints (id),
    event_type            text NOT NULL,             -- denormalised: the log filters on it
    status                text NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'retrying', 'succeeded', 'failed')),
    attempt_count         integer NOT NULL DEFAULT 0,
    -- When the next attempt is due. A worker that claims the row moves this forward by its
    -- lease; if the worker dies the row becomes due again when the lease runs out.
    next_attempt_at       timestamptz,
    last_attempt_at       timestamptz,
    last_response_status  smallint,
    last_error_class      text,
    last_duration_ms      integer,
    -- Set by a manual, bulk or test request: the next attempt is recorded with this trigger and
    -- user, and its failure ends the delivery (no automatic retries after a manual attempt).
    queued_trigger        text CHECK (queued_trigger IN ('manual', 'bulk', 'test')),
    queued_by             uuid,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (id);

-- The dispatcher's claim: `WHERE status IN ('pending','retrying') AND next_attempt_at <= now()
-- ORDER BY next_attempt_at LIMIT n FOR UPDATE SKIP LOCKED`. A partial index keeps it small:
-- settled deliveries (almost all rows) are not in it.
CREATE INDEX deliveries_due ON deliveries (next_attempt_at)
    WHERE status IN ('pending', 'retrying');
-- The log lists newest first (id order is time order) under any one filter.
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_status ON deliveries (status, id DESC);
CREATE INDEX deliveries_endpoint ON deliveries (endpoint_id, id DESC);
CREATE INDEX deliveries_event_type ON deliveries (event_type text_pattern_ops, id DESC);
-- Sorting and filtering by response code; no response sorts as 0.
CREATE INDEX deliveries_code ON deliveries ((coalesce(last_response_status, 0)), id DESC);

-- Append-only. Partitioned by delivery_id so that a delivery's attempts live in the same
-- day as the delivery and are dropped with it.
CREATE TABLE delivery_attempts (
    id                       uuid NOT NULL,
    delivery_id              uuid NOT NULL,
    attempt_number           integer NOT NULL,
    trigger                  text NOT NULL CHECK (trigger IN ('auto', 'manual', 'bulk', 'test')),
    triggered_by             uuid,                    -- the admin behind a manual/bulk attempt
    started_at               timestamptz NOT NULL,
    duration_ms              integer NOT NULL,
    request_url              text NOT NULL,
    request_headers          jsonb NOT NULL,          -- [[name, value], …] exactly as sent
    response_status          smallint,
    response_headers         jsonb,
    response_body            text,                    -- first 64 KiB
    response_body_truncated  boolean NOT NULL DEFAULT false,
    error_class              text CHECK (error_class IN ('http_status', 'timeout', 'connect', 'dns',
                                 'tls', 'redirect', 'ssrf_blocked', 'body_too_large')),
    error_message            text,
    PRIMARY KEY (delivery_id, id)
) PARTITION BY RANGE (delivery_id);

-- Creates the daily partitions of the log tables for [from_day, to_day]. Idempotent.
CREATE FUNCTION herald_ensure_partitions(from_day date, to_day date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    day date;
    parent text;
BEGIN
    FOR day IN SELECT generate_series(from_day, to_day, interval '1 day')::date LOOP
        FOREACH parent IN ARRAY ARRAY['events', 'deliveries', 'delivery_attempts'] LOOP
            EXECUTE format(
                'CREATE TABLE IF NOT EXISTS %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                parent || '_' || to_char(day, 'YYYYMMDD'), parent,
                herald_uuid_floor(day::timestamp AT TIME ZONE 'UTC'),
                herald_uuid_floor((day + 1)::timestamp AT TIME ZONE 'UTC'));
        END LOOP;
    END LOOP;
END $$;

-- Drops the daily partitions of days before `before_day`; returns how many tables it dropped.
CREATE FUNCTION herald_drop_partitions_before(before_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    part record;
    dropped integer := 0;
BEGIN
    FOR part IN
        SELECT c.relname
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname IN ('events', 'deliveries', 'delivery_attempts')
          AND c.relname ~ '_[0-9]{8}$'
          AND to_date(right(c.relname, 8), 'YYYYMMDD') < before_day
    LOOP
        EXECUTE format('DROP TABLE %I', part.relname);
        dropped := dropped + 1;
    END LOOP;
    DELETE FROM idempotency_keys WHERE created_at < before_day::timestamp AT TIME ZONE 'UTC';
    RETURN dropped;
END $$;

-- Rows outside every daily partition (clock skew, a job that has not run) still land
-- somewhere instead of failing the publish.
CREATE TABLE events_default PARTITION OF events DEFAULT;
CREATE TABLE deliveries_default PARTITION OF deliveries DEFAULT;
CREATE TABLE delivery_attempts_default PARTITION OF delivery_attempts DEFAULT;

SELECT herald_ensure_partitions(current_date - 2, current_date + 7);

-------------------------------------------------------------------------------------------
-- Background work and pre-aggregated health
-------------------------------------------------------------------------------------------

-- Bulk retries and recoveries run in the background; the portal shows their progress.
CREATE TABLE bulk_jobs (
    id           uuid PRIMARY KEY,
    kind         text NOT NULL CHECK (kind IN ('retry', 'recover')),
    filter       jsonb NOT NULL,
    total        integer NOT NULL,
    done         integer NOT NULL DEFAULT 0,
    status       text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'finished', 'failed')),
    created_by   uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);

-- Attempt outcomes per endpoint and hour, written with each batch of results, so endpoint
-- health (success rate, failures, latency percentiles, chart) stays fast at millions of
-- deliveries. latency_buckets counts attempts per duration bucket (see domain::health).
CREATE TABLE endpoint_health_hourly (
    endpoint_id      uuid NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    hour             timestamptz NOT NULL,
    succeeded        integer NOT NULL DEFAULT 0,
    failed           integer NOT NULL DEFAULT 0,
    latency_buckets  integer[] NOT NULL,
    PRIMARY KEY (endpoint_id, hour)
);
