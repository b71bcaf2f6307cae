#!/usr/bin/env bash
# Dispatcher benchmark: a fresh scratch database, the release binary, a local receiver.
# Prints deliveries/s end to end, publish → first attempt p50/p99 at a steady rate, and the
# receiver's own ceiling. Extra arguments go to `herald bench` (see `herald bench --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
. scripts/db.sh
herald_db_setup herald_test
base="${DATABASE_URL%/*}"
psql "$base/postgres" -qc 'DROP DATABASE IF EXISTS herald_bench WITH (FORCE)' -c 'CREATE DATABASE herald_bench' >/dev/null
[ -x "$CARGO_TARGET_DIR/release/herald" ] || cargo leptos build --release
HERALD_LOG=warn exec "$CARGO_TARGET_DIR/release/herald" --database-url "$base/herald_bench" bench "$@"
