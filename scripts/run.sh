#!/usr/bin/env bash
# Builds and starts Herald with demo data: installs what is missing, finds or makes a
# database, builds the portal, then serves it. Extra arguments go to `herald serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. scripts/env.sh
. scripts/db.sh
herald_db_setup herald
cargo leptos build --release --precompress
exec "$CARGO_TARGET_DIR/release/herald" serve --demo "$@"
