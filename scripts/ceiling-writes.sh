#!/usr/bin/env bash
# What fewer writes per delivery would buy: PostgreSQL's ceiling for Herald's statements
# (as in ceiling.sh, step 2), then the same with one cost taken away at a time. Each variant is
# an upper bound for a change issue 12 proposes, measured before building it:
#   - no health upsert in the recorder's transaction (health counted in memory, flushed ~1 s);
#   - no wake-up (pg_notify) per publish;
#   - no log indexes on deliveries (status, response code, endpoint, event type): what the
#     settle's index entries cost, the most any HOT-friendly settle or queue table could save;
#   - then all three, and all three with asynchronous commit (synchronous_commit=off: the
#     weaker durability issue 12 allows only as an opt-in).
# Needs the release build (cargo leptos build --release) and pgbench (apt: postgresql-contrib,
# installed here when missing). Usage: ./scripts/ceiling-writes.sh   (DURATION=10 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
listen=127.0.0.1:3300
. scripts/loadtest.sh

install_missing pgbench=postgresql-contrib

ceiling_database herald_ceiling_writes

publish=scripts/ceiling/publish.sql dispatch=scripts/ceiling/dispatch.sql
# The recorder's statement without its health CTE; the publish without its wake-up.
awk '/^\), health AS \($/ {skip = 1} !skip {print} skip && /latency_buckets = ARRAY/ {skip = 0}' \
  "$dispatch" >"$work/dispatch-no-health.sql"
grep -v pg_notify "$publish" >"$work/publish-no-notify.sql"

results=()
measure() {
  echo "== $1"
  postgres_ceiling "$2" "$3"
  results+=("$(printf '%-46s %6d deliveries/s (best at %d clients)' "$1" "$db_deliveries" "$best_clients")")
}
measure "as Herald is" "$publish" "$dispatch"
measure "without the health upsert" "$publish" "$work/dispatch-no-health.sql"
measure "without the wake-up per publish" "$work/publish-no-notify.sql" "$dispatch"
sql "DROP INDEX deliveries_status, deliveries_code, deliveries_endpoint, deliveries_event_type"
measure "without the log's 4 indexes on deliveries" "$publish" "$dispatch"
measure "without all three" "$work/publish-no-notify.sql" "$work/dispatch-no-health.sql"
PGOPTIONS='-c synchronous_commit=off' measure "without all three, asynchronous commit" \
  "$work/publish-no-notify.sql" "$work/dispatch-no-health.sql"

echo "== PostgreSQL's ceiling for Herald's statements, and what each saving would add"
printf '%s\n' "${results[@]}"
