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
# The tests publish events with this key and steer the demo receiver (on its own port) with
# this token (end2end/.state is git-ignored).
mkdir -p end2end/.state
"$herald" create-api-key --name e2e --scope publish,read,manage | tail -1 > end2end/.state/api-key
export HERALD_RECEIVER_TOKEN="e2e-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf '%s' "$HERALD_RECEIVER_TOKEN" > end2end/.state/receiver-token
export HERALD_DATA_DIR="$(mktemp -d)"
# A short retry schedule so failures settle within a test; no live demo events, so what a
# test counts is only what it published.
exec "$herald" serve --demo --listen 127.0.0.1:3100 --demo-receiver-listen 127.0.0.1:3101 \
  --retry-schedule 1s --demo-ticker-secs 0 --alert-check-secs 1
