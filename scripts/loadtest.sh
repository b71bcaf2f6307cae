# Shared by the load scripts (ceiling.sh, ceiling-writes.sh, crash.sh, latency.sh); source it
# from the repository's root after setting `listen` (the address Herald serves on). It loads
# the environment, sets `herald` (the release binary), `duration` (DURATION, default 10 s) and
# `work` (a scratch directory). Processes added to `pids` are stopped, and `work` removed, on
# exit.

# shellcheck source=scripts/env.sh
. scripts/env.sh
# shellcheck source=scripts/db.sh
. scripts/db.sh
herald="$CARGO_TARGET_DIR/release/herald"
duration="${DURATION:-10}"
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

sql() { psql "$DATABASE_URL" -Atqc "$1"; }

# Installs the Debian packages whose command is missing: install_missing command=package …
install_missing() {
  local missing=() pair
  for pair in "$@"; do
    command -v "${pair%%=*}" >/dev/null || [ -x "/usr/sbin/${pair%%=*}" ] || missing+=("${pair#*=}")
  done
  [ ${#missing[@]} -eq 0 ] && return
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq "${missing[@]}" >/dev/null
  else sudo apt-get install -y -qq "${missing[@]}" >/dev/null; fi
}

# Starts Herald (dispatcher on, no portal, loopback receivers allowed) and waits until it
# answers; sets herald_pid.
serve() {
  HERALD_DATA_DIR="$work" "$herald" serve --listen "$listen" --no-portal --allow-http \
    --allow-cidrs 127.0.0.0/8 --retry-schedule 1m >>"$work/herald.log" 2>&1 &
  herald_pid=$!
  pids+=($herald_pid)
  for _ in $(seq 100); do curl -fs "http://$listen/healthz" >/dev/null && return; sleep 0.1; done
  echo "herald did not start: $(tail -5 "$work/herald.log")" >&2; exit 1
}

# Creates 5 endpoints for user.created at RECEIVER/1 … RECEIVER/5 with the API key KEY.
five_endpoints() {
  local receiver="$1" key="$2"
  for n in 1 2 3 4 5; do
    curl -fsS -o /dev/null -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
      "http://$listen/api/v1/webhooks" -d "{\"name\":\"Receiver $n\",\"url\":\"$receiver/$n\",\"event_types\":[\"user.created\"]}"
  done
}

# A fresh database NAME (DATABASE_URL then points at it) with an API key (`key`) and, made by
# Herald through its API, the 5 endpoints the ceiling scripts publish to; Herald is stopped
# again, so that only pgbench or the load that follows uses it.
ceiling_database() {
  herald_db_setup herald_test
  herald_fresh_db "$1"
  export DATABASE_URL="$FRESH_DATABASE_URL"
  key="$("$herald" create-api-key --name ceiling --scope publish,manage | tail -1)"
  serve
  five_endpoints http://127.0.0.1:18080/hook "$key"
  kill "$herald_pid"; wait "$herald_pid" 2>/dev/null || true
}

# The dispatcher's side of the ceiling for deliveries left to claims: a lane's claim of up to
# 250, then the result writer's transaction for them, run in turn by one pgbench client.
claim_and_record="$work/claim-and-record.sql"
cat scripts/ceiling/claim.sql scripts/ceiling/record.sql >"$claim_and_record"

# PostgreSQL's ceiling for a publish script and a dispatch script run by pgbench -M prepared,
# 50 publishes (one event, 5 deliveries) for each dispatch of up to 250: deliveries settled
# per second, the best of several client counts (contention decides which is best).
# HANDED=true leases the published deliveries (see scripts/ceiling/publish.sql).
# Sets db_deliveries and best_clients; needs `duration` and the 5 endpoints in DATABASE_URL.
postgres_ceiling() {
  local publish="$1" dispatch="$2" clients run seconds=$(( (duration + 1) / 2 ))
  db_deliveries=0 best_clients=0
  for clients in 4 8 16 32 64; do
    sql "TRUNCATE events, deliveries, delivery_attempts, endpoint_health_hourly, idempotency_keys"
    pgbench -n -M prepared -c "$clients" -j 2 -T "$seconds" -D handed="${HANDED:-false}" \
      -f "$publish@50" -f "$dispatch@1" "$DATABASE_URL" >/dev/null 2>&1
    run=$(( $(sql "SELECT count(*) FROM deliveries WHERE status = 'succeeded'") / seconds ))
    echo "  $clients clients: $run deliveries/s settled"
    if [ "$run" -gt "$db_deliveries" ]; then db_deliveries="$run" best_clients="$clients"; fi
  done
}
