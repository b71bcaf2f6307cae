#!/usr/bin/env bash
# What fewer writes per delivery would buy: PostgreSQL's ceiling for Herald's statements
# (as in ceiling.sh, step 2), then the same with one cost taken away at a time. Each variant is
# an upper bound for a change issue 12 proposes, measured before building it (the health
# upsert, once in the recorder's transaction, is already gone: health is counted in memory):
#   - no wake-up (pg_notify) per publish;
#   - no log indexes on deliveries (status, response code, endpoint, event type): what the
#     settle's index entries cost, the most any HOT-friendly settle or queue table could save;
#   - then both, and both with asynchronous commit (synchronous_commit=off: the
#     weaker durability issue 12 allows only as an opt-in).
# Needs the release build (cargo leptos build --release) and pgbench (apt: postgresql-contrib,
# installed here when missing). Usage: ./scripts/ceiling-writes.sh   (DURATION=10 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
listen=127.0.0.1:3300
. scripts/loadtest.sh

install_missing pgbench=postgresql-contrib

ceiling_database herald_ceiling_writes

publish=scripts/ceiling/publish.sql dispatch="$claim_and_record"
# The publish without its wake-up.
grep -v pg_notify "$publish" >"$work/publish-no-notify.sql"

results=()
measure() {
  echo "== $1"
  postgres_ceiling "$2" "$3"
  results+=("$(printf '%-46s %6d deliveries/s (best at %d clients)' "$1" "$db_deliveries" "$best_clients")")
}
measure "as Herald is" "$publish" "$dispatch"
measure "without the wake-up per publish" "$work/publish-no-notify.sql" "$dispatch"
sql "DROP INDEX deliveries_status, deliveries_code, deliveries_endpoint, deliveries_event_type"
measure "without the log's 4 indexes on deliveries" "$publish" "$dispatch"
measure "without both" "$work/publish-no-notify.sql" "$dispatch"
PGOPTIONS='-c synchronous_commit=off' measure "without both, asynchronous commit" \
  "$work/publish-no-notify.sql" "$dispatch"

echo "== PostgreSQL's ceiling for Herald's statements, and what each saving would add"
printf '%s\n' "${results[@]}"
