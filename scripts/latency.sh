#!/usr/bin/env bash
# Publish → first attempt, through the real API at a steady rate: a producer
# (scripts/crash/publisher.py, 32 threads) POSTs one event per request at RATE events/s, each
# fanned out to 5 endpoints on an nginx receiver in another process. A delivery's latency is
# the start of its first attempt (as Herald recorded it) less the moment the producer sent the
# request (its clock: the same machine's). Prints p50, p90, p99 and the worst, over every
# delivery. Needs the release build and nginx (apt: nginx-light; installed here when missing).
# Usage: ./scripts/latency.sh   (RATE=1000 events/s, DURATION=10 s by default)
set -euo pipefail
cd "$(dirname "$0")/.."
rate="${RATE:-1000}"
listen=127.0.0.1:3302
. scripts/loadtest.sh

install_missing nginx=nginx-light
/usr/sbin/nginx -c "$PWD/scripts/ceiling/nginx.conf" -p "$work" -g "daemon off; pid $work/nginx.pid;" &
pids+=($!)
ceiling_database herald_latency
serve

echo "== publishing $rate events/s for ${duration}s over REST, 5 endpoints each"
THREADS=32 python3 scripts/crash/publisher.py "http://$listen/api/v1/events" "$key" "$rate" "$duration" "$work/accepted"
for _ in $(seq 600); do
  [ "$(sql "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'retrying')")" = 0 ] && break
  sleep 0.1
done

# Event refs are evt_ and the id's 32 hex digits, which PostgreSQL reads as a uuid.
awk '{ print substr($1, 5) "," $2 }' "$work/accepted" >"$work/sent.csv"
psql "$DATABASE_URL" -q <<SQL
CREATE TABLE latency_sent (event_id uuid PRIMARY KEY, sent_at double precision NOT NULL);
\copy latency_sent FROM '$work/sent.csv' WITH (FORMAT csv)
SQL
sql "SELECT count(*), round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1),
            round(percentile_cont(0.9) WITHIN GROUP (ORDER BY ms)::numeric, 1),
            round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 1),
            round(max(ms)::numeric, 1)
     FROM (SELECT (extract(epoch FROM min(a.started_at)) - s.sent_at) * 1000 AS ms
           FROM latency_sent s JOIN deliveries d ON d.event_id = s.event_id
           JOIN delivery_attempts a ON a.delivery_id = d.id
           GROUP BY d.id, s.sent_at) first_attempts" |
  awk -F'|' '{ printf "publish → first attempt over %d deliveries: p50 %s ms, p90 %s ms, p99 %s ms, worst %s ms\n", $1, $2, $3, $4, $5 }'
