-- Alerts. Every endpoint is watched by the default rules (see domain::alert::AlertRules);
-- a row here holds an admin's own choice for one endpoint.
CREATE TABLE alert_rules (
    endpoint_id       uuid PRIMARY KEY REFERENCES endpoints (id) ON DELETE CASCADE,
    on_exhausted      boolean NOT NULL,
    on_disabled       boolean NOT NULL,
    min_success_rate  double precision CHECK (min_success_rate BETWEEN 0 AND 100),  -- NULL: off
    window_minutes    integer NOT NULL CHECK (window_minutes BETWEEN 5 AND 1440),
    min_attempts      integer NOT NULL CHECK (min_attempts >= 1),
    max_p95_ms        integer CHECK (max_p95_ms BETWEEN 100 AND 9999),              -- NULL: off
    email_to          text[] NOT NULL DEFAULT '{}',   -- empty: every active admin and owner
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- One row per firing: open while resolved_at is NULL. At most one open row per endpoint and
-- rule, so a rule that keeps holding fires once, however many processes check it.
CREATE TABLE alerts (
    id           uuid PRIMARY KEY,
    endpoint_id  uuid NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind IN ('exhausted', 'disabled', 'success_rate', 'latency')),
    summary      text NOT NULL,           -- what held, in words, when it fired
    started_at   timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz,
    resolution   text                     -- why it ended
);
CREATE UNIQUE INDEX alerts_open ON alerts (endpoint_id, kind) WHERE resolved_at IS NULL;
CREATE INDEX alerts_started ON alerts (started_at DESC, id DESC);

-- When a delivery to the endpoint last failed for good after its automatic attempts.
ALTER TABLE endpoints ADD COLUMN last_exhausted_at timestamptz;

-- Herald's operational events: in the catalog so admins can subscribe endpoints to them.
INSERT INTO event_types (name, description, example_payload) VALUES
    ('endpoint.disabled', 'Herald: an endpoint was disabled (410 Gone, failing too long, or by an admin).',
     '{"alert_id":"0193a1b2-c3d4-7e5f-8071-8293a4b5c6d7","endpoint":{"id":"0193a1b2-c3d4-7e5f-8071-8293a4b5c6d8","name":"Billing","url":"https://billing.example.com/hooks"},"rule":"disabled","summary":"Disabled by Herald: the endpoint answered 410 Gone","at":"2026-11-30T12:00:00Z"}'),
    ('endpoint.failing', 'Herald: an endpoint''s success rate or response time broke its alert rule.',
     '{"alert_id":"0193a1b2-c3d4-7e5f-8071-8293a4b5c6d7","endpoint":{"id":"0193a1b2-c3d4-7e5f-8071-8293a4b5c6d8","name":"Billing","url":"https://billing.example.com/hooks"},"rule":"success_rate","summary":"success rate 40.0 % over the last 60 min (12 of 30 attempts succeeded), below 95 %","at":"2026-11-30T12:00:00Z"}'),
    ('endpoint.recovered', 'Herald: an alert on an endpoint stopped holding.',
     '{"alert_id":"0193a1b2-c3d4-7e5f-8071-8293a4b5c6d7","endpoint":{"id":"0193a1b2-c3d4-7e5f-8071-8293a4b5c6d8","name":"Billing","url":"https://billing.example.com/hooks"},"rule":"success_rate","summary":"the rule no longer holds","at":"2026-11-30T13:00:00Z"}'),
    ('delivery.exhausted', 'Herald: a delivery to an endpoint failed every automatic attempt.',
     '{"alert_id":"0193a1b2-c3d4-7e5f-8071-8293a4b5c6d7","endpoint":{"id":"0193a1b2-c3d4-7e5f-8071-8293a4b5c6d8","name":"Billing","url":"https://billing.example.com/hooks"},"rule":"exhausted","summary":"a delivery failed every automatic attempt (retries exhausted)","at":"2026-11-30T12:00:00Z"}')
ON CONFLICT (name) DO NOTHING;
