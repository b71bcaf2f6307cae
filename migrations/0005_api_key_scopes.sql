-- API keys get scopes: `publish` (events only; the default for new keys), `read`, `manage`.
-- Keys made before scopes existed could do everything; they keep all three, so an upgrade
-- breaks no producer. Owners can replace them with narrower keys.
ALTER TABLE api_keys ADD COLUMN scopes text[] NOT NULL DEFAULT '{publish}'
    CHECK (scopes <@ ARRAY['publish', 'read', 'manage'] AND cardinality(scopes) > 0);
UPDATE api_keys SET scopes = '{publish,read,manage}';

-- A key dies with its creator: disabled users' keys are refused at authentication, and a
-- removed user's keys are removed (before, they lived on with no creator).
ALTER TABLE api_keys DROP CONSTRAINT api_keys_created_by_fkey;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_created_by_fkey
    FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE CASCADE;
