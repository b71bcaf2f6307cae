-- Every REST publish looks up its API key and its event type's rules; Herald keeps both in
-- memory (src/server/lookups.rs). Any change that could alter an answer, made by any Herald
-- process or by hand in psql, sends a NOTIFY on herald_lookups at its commit, and every
-- process empties its cache. Only the columns a lookup reads fire it: api_keys.last_used_at,
-- written once a minute per busy key, and users.last_login_at do not.
CREATE FUNCTION herald_lookups_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('herald_lookups', TG_TABLE_NAME);
    RETURN NULL;
END
$$;

CREATE TRIGGER event_types_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON event_types
    FOR EACH STATEMENT EXECUTE FUNCTION herald_lookups_changed();

CREATE TRIGGER api_keys_changed
    AFTER UPDATE OF key_hash, revoked_at, scopes, name, created_by OR DELETE OR TRUNCATE ON api_keys
    FOR EACH STATEMENT EXECUTE FUNCTION herald_lookups_changed();

CREATE TRIGGER users_changed
    AFTER UPDATE OF disabled_at OR DELETE OR TRUNCATE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION herald_lookups_changed();
