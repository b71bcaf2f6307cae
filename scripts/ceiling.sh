#!/usr/bin/env bash
# The dispatcher's ceilings on this machine, in one run:
#   1. the receiver: nginx answering 204 to every POST, loaded straight by wrk;
#   2. PostgreSQL: pgbench running the statements Herald issues, -M prepared, two ways:
#      deliveries left to claims, publishing one event with its 5 deliveries and a wake-up
#      (scripts/ceiling/publish.sql) 50 times for each claim and record of up to 250
#      (scripts/ceiling/claim.sql, record.sql); and deliveries handed to this process's own
#      dispatcher, published already leased without a wake-up (publish.sql with handed=true,
#      its pg_notify dropped) and only recorded. Deliveries/s is what got settled; Herald's own publishes take the second way
#      while it has room in flight, the first beyond it;
#   3. Herald end to end: wrk POSTs one event per request over REST, each fanned out to 5
#      endpoints on that nginx; deliveries/s is every delivery settled, over the time from the
#      first publish to the last settlement;
#   4. the same with POST /api/v1/events/batch, 100 events per request.
# Prints each figure and Herald's share of the lowest ceiling that applies (receiver, or
# PostgreSQL for the hand-off). Needs the release build
# (cargo leptos build --release) and wrk, nginx and pgbench (apt: wrk nginx-light
# postgresql-contrib; installed here when missing).
# Usage: ./scripts/ceiling.sh   (DURATION=10 CONNECTIONS=64 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
connections="${CONNECTIONS:-64}"
listen=127.0.0.1:3300
. scripts/loadtest.sh

install_missing wrk=wrk nginx=nginx-light pgbench=postgresql-contrib

rate() { awk '/Requests\/sec/ {printf "%d", $2}'; }

echo "== 1. receiver ceiling (nginx, wrk -c $connections, ${duration}s)"
/usr/sbin/nginx -c "$PWD/scripts/ceiling/nginx.conf" -p "$work" -g "daemon off; pid $work/nginx.pid;" &
pids+=($!)
sleep 0.5
receiver="$(wrk -t2 -c"$connections" -d"${duration}s" -s scripts/ceiling/post.lua http://127.0.0.1:18080/hook | rate)"
echo "receiver: $receiver requests/s"

echo "== 2. PostgreSQL ceiling for Herald's statements per event (pgbench -M prepared)"
ceiling_database herald_ceiling
postgres_ceiling scripts/ceiling/publish.sql "$claim_and_record"
echo "postgres: $db_deliveries deliveries/s (publish + claim + record, best at $best_clients clients)"
grep -v pg_notify scripts/ceiling/publish.sql >"$work/publish-handed.sql"
HANDED=true postgres_ceiling "$work/publish-handed.sql" scripts/ceiling/record.sql
handed_ceiling="$db_deliveries"
echo "postgres: $handed_ceiling deliveries/s (handed off: publish leased + record, best at $best_clients clients)"
sql "TRUNCATE events, deliveries, delivery_attempts, endpoint_health_hourly, idempotency_keys"

echo "== 3. Herald end to end (wrk -c $connections over REST, ${duration}s, 5 endpoints each)"
serve
start="$(date +%s.%N)"
ingest="$(HERALD_API_KEY="$key" wrk -t2 -c"$connections" -d"${duration}s" -s scripts/ceiling/publish.lua "http://$listen/api/v1/events" | rate)"
# Every delivery settled, or at most a minute more.
for _ in $(seq 600); do
  [ "$(sql "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'retrying')")" = 0 ] && break
  sleep 0.1
done
end="$(date +%s.%N)"
rss_kb="$(ps -o rss= -p "$herald_pid" | tr -d ' ')"
settled="$(sql "SELECT count(*) FROM deliveries WHERE status = 'succeeded'")"
attempts="$(sql "SELECT count(*) FROM delivery_attempts")"
unsettled="$(sql "SELECT count(*) FROM deliveries WHERE status <> 'succeeded'")"
e2e="$(awk -v n="$settled" -v a="$start" -v b="$end" 'BEGIN {printf "%d", n / (b - a)}')"
echo "herald: ingest $ingest events/s; $settled deliveries settled ($attempts attempts recorded, $unsettled not succeeded) = $e2e deliveries/s end to end; resident memory $((rss_kb / 1024)) MB"

echo "== 4. Herald with batches (wrk -c $connections, 100 events per POST /api/v1/events/batch, ${duration}s)"
sql "TRUNCATE events, deliveries, delivery_attempts, endpoint_health_hourly, idempotency_keys"
start="$(date +%s.%N)"
batches="$(HERALD_API_KEY="$key" wrk -t2 -c"$connections" -d"${duration}s" -s scripts/ceiling/batch.lua "http://$listen/api/v1/events/batch" | awk '/Requests\/sec/ {printf "%.1f", $2}')"
ingested="$(sql "SELECT count(*) FROM events")"
for _ in $(seq 3000); do
  [ "$(sql "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'retrying')")" = 0 ] && break
  sleep 0.1
done
end="$(date +%s.%N)"
settled="$(sql "SELECT count(*) FROM deliveries WHERE status = 'succeeded'")"
batch_e2e="$(awk -v n="$settled" -v a="$start" -v b="$end" 'BEGIN {printf "%d", n / (b - a)}')"
echo "herald (batches): $batches batches/s = $(awk -v b="$batches" 'BEGIN {printf "%d", b * 100}') events/s ingested ($ingested events in ${duration}s); $settled deliveries settled = $batch_e2e deliveries/s end to end"

lower=$(( receiver < handed_ceiling ? receiver : handed_ceiling ))
awk -v e="$e2e" -v l="$lower" 'BEGIN {printf "share: Herald delivers %.0f %% of the lower ceiling (%d deliveries/s)\n", 100 * e / l, l}'
