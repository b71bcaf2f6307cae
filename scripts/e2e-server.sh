#!/usr/bin/env bash
# Started by Playwright (end2end/playwright.config.ts): a fresh database with one admin and
# one member, demo data, and the release build listening on 127.0.0.1:3100.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
. scripts/db.sh
herald_fresh_db herald_e2e
export DATABASE_URL="$FRESH_DATABASE_URL"
herald="$CARGO_TARGET_DIR/release/herald"
"$herald" create-admin --email admin@e2e.test --password 'admin-password' --role admin
"$herald" create-admin --email member@e2e.test --password 'member-password' --role member
"$herald" create-admin --email owner@e2e.test --password 'owner-password' --role owner
# The tests publish events with this key (end2end/.state is git-ignored).
mkdir -p end2end/.state
"$herald" create-api-key --name e2e | tail -1 > end2end/.state/api-key
export HERALD_DATA_DIR="$(mktemp -d)"
# A short retry schedule so failures settle within a test.
exec "$herald" serve --demo --listen 127.0.0.1:3100 --retry-schedule 1s
