#!/usr/bin/env bash
# At-least-once under a crash, measured: publishes at a steady rate over REST (each event to 5
# endpoints on an nginx receiver that logs every delivery it gets), kills Herald with kill -9
# part-way, restarts it at once, and counts from the receiver's log:
#   lost        deliveries of accepted events that never arrived (must be 0);
#   duplicated  deliveries that arrived more than once (at-least-once allows them);
#   settle time from the restart until every delivery is settled.
# The publisher behaves as producers should: every event has its own Idempotency-Key and is
# sent again, same key, until Herald answers 2xx.
# Needs the release build (cargo leptos build --release), nginx (apt: nginx-light; installed
# here when missing) and python3.
# Usage: ./scripts/crash.sh   (RATE=500 events/s, DURATION=20 s, KILL_AT=8 s by default)
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-20}"
rate="${RATE:-500}"
kill_at="${KILL_AT:-8}"
listen=127.0.0.1:3301
. scripts/loadtest.sh

install_missing nginx=nginx-light

now() { date +%s.%N; }

/usr/sbin/nginx -c "$PWD/scripts/crash/nginx.conf" -p "$work" -g "daemon off; pid $work/nginx.pid;" &
pids+=($!)
herald_db_setup herald_test
herald_fresh_db herald_crash
export DATABASE_URL="$FRESH_DATABASE_URL"
key="$("$herald" create-api-key --name crash --scope publish,manage | tail -1)"
serve
five_endpoints http://127.0.0.1:18081/hook "$key"

echo "== publishing $rate events/s for ${duration}s; kill -9 at ${kill_at}s, restart at once"
python3 scripts/crash/publisher.py "http://$listen/api/v1/events" "$key" "$rate" "$duration" "$work/accepted" &
publisher=$!
sleep "$kill_at"
in_flight="$(sql "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'retrying')")"
kill -9 "$herald_pid"
wait "$herald_pid" 2>/dev/null || true
killed="$(now)"
serve
restarted="$(now)"
wait "$publisher"
published="$(now)"
for _ in $(seq 1200); do
  [ "$(sql "SELECT count(*) FROM deliveries WHERE status IN ('pending', 'retrying')")" = 0 ] && break
  sleep 0.1
done
settled="$(now)"
sleep 0.3 # nginx flushes its log every 100 ms

events="$(wc -l <"$work/accepted")"
expected=$((events * 5))
cut -d' ' -f1,2 "$work/received.log" | sort >"$work/pairs"
received="$(wc -l <"$work/pairs")"
distinct="$(uniq "$work/pairs" | wc -l)"
# Deliveries of accepted events that reached the receiver (event id, endpoint path).
arrived="$(uniq "$work/pairs" | awk 'NR == FNR { ok[$1] = 1; next } ($1 in ok) { n++ } END { print n + 0 }' "$work/accepted" -)"
# When the deliveries that arrived twice arrived the second time: the dead process's leases.
resent="$(awk '{ k = $1 " " $2; if (k in first) { if ($3 > last) last = $3 } else first[k] = $3 } END { printf "%.3f", last }' "$work/received.log")"
stored="$(sql "SELECT count(*) FROM deliveries")"
succeeded="$(sql "SELECT count(*) FROM deliveries WHERE status = 'succeeded'")"
echo "killed with $in_flight deliveries pending; back up $(awk -v a="$killed" -v b="$restarted" 'BEGIN {printf "%.1f", b - a}')s later"
echo "events accepted: $events (each once: $(cut -d" " -f1 "$work/accepted" | sort -u | wc -l) distinct ids); deliveries expected: $expected, stored: $stored, succeeded: $succeeded"
echo "lost: $((expected - arrived)); duplicated: $((received - distinct)) of $received received ($(awk -v d="$((received - distinct))" -v r="$received" 'BEGIN {printf "%.2f", r ? 100 * d / r : 0}') %)"
released="$(sed 's/\x1b\[[0-9;]*m//g' "$work/herald.log" | grep -o 'released=[0-9]*' | tail -1 || true)"
echo "the restarted process made the killed one's leases due at once: ${released:-released=0}"
if [ "$resent" != 0.000 ]; then
  awk -v k="$killed" -v r="$resent" 'BEGIN {printf "the deliveries sent but not recorded before the kill went again %.1fs after it\n", r - k}'
fi
# Deliveries queued before the kill whose attempt came after it: the work the kill interrupted.
sql "SELECT count(DISTINCT d.id), coalesce(extract(epoch FROM max(a.started_at)) - $killed, 0)
     FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id
     WHERE d.created_at < to_timestamp($killed) AND a.started_at > to_timestamp($killed)" |
  awk -F'|' '{printf "left behind by the kill: %d deliveries, the last of them sent %.1fs after it\n", $1, $2}'
awk -v k="$killed" -v p="$published" -v s="$settled" 'BEGIN {printf "settled: every delivery %.1fs after the kill, %.1fs after the last publish\n", s - k, s - p}'
[ "$expected" = "$arrived" ] && [ "$stored" = "$expected" ]
