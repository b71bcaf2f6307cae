#!/usr/bin/env bash
# Dispatcher benchmark: a fresh scratch database, the release binary, a local receiver.
# Prints deliveries/s end to end, publish → first attempt p50/p99 at a steady rate, and the
# receiver's own ceiling. Extra arguments go to `herald bench` (see `herald bench --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
. scripts/db.sh
herald_fresh_db herald_bench
[ -x "$CARGO_TARGET_DIR/release/herald" ] || cargo leptos build --release --precompress
HERALD_LOG=warn exec "$CARGO_TARGET_DIR/release/herald" --database-url "$FRESH_DATABASE_URL" bench "$@"
