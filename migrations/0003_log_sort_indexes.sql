-- The log sorts by status or response code in either direction with the id as tie-breaker,
-- and both columns always run the same way (`ORDER BY status DESC, id DESC`). An index on
-- (status, id DESC) matches neither direction, so PostgreSQL sorted every row instead; with
-- (status, id) a forward scan gives ASC/ASC and a backward scan DESC/DESC. The same index still
-- serves `status = x ORDER BY id DESC` by scanning backwards.
DROP INDEX deliveries_status;
CREATE INDEX deliveries_status ON deliveries (status, id);
DROP INDEX deliveries_code;
CREATE INDEX deliveries_code ON deliveries ((coalesce(last_response_status, 0)), id);

-- "Pending" is two statuses (pending, retrying); `status IN (a, b) ORDER BY id` cannot walk a
-- (status, id) index in id order, so the unsettled deliveries get their own list in log order.
-- It stays small: settled deliveries (almost all rows) are not in it.
CREATE INDEX deliveries_unsettled ON deliveries (id) WHERE status IN ('pending', 'retrying');
