-- The event stream (GET /api/v1/events/stream) hands out events in commit order, which id
-- order is not: an event's id is made before its transaction commits, so a publish that
-- commits late can land behind ids a reader has already passed. Each event keeps the id of
-- the transaction that wrote it; every transaction below the oldest one still running
-- (pg_snapshot_xmin) has finished, so events up to there can be read in (txid, id) order and
-- none can appear behind the reader any more.
--
-- Events written before this migration have no txid and are not streamed (the poll, GET
-- /api/v1/events, still lists them). The column is added without rewriting the table.
ALTER TABLE events ADD COLUMN txid xid8;
ALTER TABLE events ALTER COLUMN txid SET DEFAULT pg_current_xact_id();
CREATE INDEX events_txid ON events (txid, id);
