#!/usr/bin/env bash
# Runs every test layer: unit and integration tests (cargo test, against a real PostgreSQL),
# then the end-to-end tests (Playwright in Debian's Chromium against the release build).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
. scripts/env.sh
. scripts/db.sh
herald_db_setup herald_test # #[sqlx::test] creates a fresh database per test from this URL

echo "== build (release: server + wasm + css)"
cargo leptos build --release --precompress
echo "== unit + integration tests"
cargo test --release --no-fail-fast --workspace --no-default-features --features ssr
echo "== REST API against its OpenAPI document (schemathesis, every check)"
./scripts/api-contract.sh
echo "== end-to-end tests (Chromium)"
(cd end2end && npx playwright test)
