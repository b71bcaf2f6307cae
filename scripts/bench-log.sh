#!/usr/bin/env bash
# Delivery-log benchmark: generates 10 million deliveries (kept between runs in the
# herald_bench_log database; takes several minutes the first time), then times the log's
# queries per filter, search and sort. Extra arguments go to `herald bench-log`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
. scripts/db.sh
herald_db_setup herald_bench_log
[ -x "$CARGO_TARGET_DIR/release/herald" ] || cargo leptos build --release --precompress
HERALD_LOG=warn exec "$CARGO_TARGET_DIR/release/herald" bench-log "$@"
