-- Rows that land in a default partition (a clock ahead, a housekeeping job that has not run)
-- used to break two things: creating their day's partition failed ("updated partition
-- constraint for default partition … would be violated"), which stopped the hourly job and
-- `herald migrate`; and retention never removed them.

-- Creates the daily partitions of the log tables for [from_day, to_day]. Idempotent. Rows of
-- a new day that are waiting in the default partition move into the day's partition, in the
-- same transaction, so the partition can be created and nothing is lost.
CREATE OR REPLACE FUNCTION herald_ensure_partitions(from_day date, to_day date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    day date;
    parent text;
    part text;
    key text;
    lo uuid;
    hi uuid;
BEGIN
    FOR day IN SELECT generate_series(from_day, to_day, interval '1 day')::date LOOP
        lo := herald_uuid_floor(day::timestamp AT TIME ZONE 'UTC');
        hi := herald_uuid_floor((day + 1)::timestamp AT TIME ZONE 'UTC');
        FOREACH parent IN ARRAY ARRAY['events', 'deliveries', 'delivery_attempts'] LOOP
            part := parent || '_' || to_char(day, 'YYYYMMDD');
            CONTINUE WHEN to_regclass(part) IS NOT NULL;
            key := CASE parent WHEN 'delivery_attempts' THEN 'delivery_id' ELSE 'id' END;
            EXECUTE format(
                'CREATE TEMP TABLE herald_moving ON COMMIT DROP AS
                     SELECT * FROM %I WHERE %I >= %L AND %I < %L',
                parent || '_default', key, lo, key, hi);
            EXECUTE format('DELETE FROM %I WHERE %I >= %L AND %I < %L',
                parent || '_default', key, lo, key, hi);
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                part, parent, lo, hi);
            EXECUTE format('INSERT INTO %I SELECT * FROM herald_moving', parent);
            DROP TABLE herald_moving;
        END LOOP;
    END LOOP;
END $$;

-- Drops the daily partitions of days before `before_day`, and the rows of those days still in
-- the default partitions; returns how many tables it dropped.
CREATE OR REPLACE FUNCTION herald_drop_partitions_before(before_day date) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    part record;
    dropped integer := 0;
    cutoff uuid := herald_uuid_floor(before_day::timestamp AT TIME ZONE 'UTC');
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
    DELETE FROM events_default WHERE id < cutoff;
    DELETE FROM deliveries_default WHERE id < cutoff;
    DELETE FROM delivery_attempts_default WHERE delivery_id < cutoff;
    DELETE FROM idempotency_keys WHERE created_at < before_day::timestamp AT TIME ZONE 'UTC';
    RETURN dropped;
END $$;
