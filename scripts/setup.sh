#!/usr/bin/env bash
# Installs everything Herald needs to build, run and test, skipping what is already present.
# Safe to run again: a second run on a set-up machine takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
sudo_if_needed() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_missing=()
need_pkg() { dpkg -s "$1" >/dev/null 2>&1 || apt_missing+=("$1"); }
need_pkg chromium
command -v node >/dev/null || need_pkg nodejs
command -v psql >/dev/null || need_pkg postgresql-client
command -v curl >/dev/null || need_pkg curl
command -v python3 >/dev/null || need_pkg python3
# Debian splits venv and ensurepip out of python3.
python3 -c 'import venv, ensurepip' 2>/dev/null || need_pkg python3-venv
if ! { command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; }; then
  # No wasm32 std from rustup: use Debian's rustc-web 1.96 and build std from source.
  for p in rustc-web cargo-web rust-web-src rust-web-clippy lld-22; do need_pkg "$p"; done
fi
command -v npm >/dev/null || need_pkg npm
if [ ${#apt_missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${apt_missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${apt_missing[@]}"
fi

# shellcheck source=scripts/env.sh
. scripts/env.sh

if ! command -v cargo-leptos >/dev/null; then
  log "installing cargo-leptos (about 25 minutes on 2 cores, once per machine)"
  env -u CARGO_TARGET_DIR cargo install cargo-leptos --locked
fi

# wasm-bindgen's CLI must be exactly the version in Cargo.lock.
wb_version="$(awk '/^name = "wasm-bindgen"$/{getline; gsub(/version = |"/,""); print; exit}' Cargo.lock)"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wb_version" ]; then
  log "installing wasm-bindgen-cli $wb_version"
  # Not --locked: one of its locked dependencies is no longer on the registry.
  env -u CARGO_TARGET_DIR cargo install wasm-bindgen-cli --version "$wb_version" --force
fi

if [ ! -x node_modules/.bin/tailwindcss ] || [ ! -x node_modules/.bin/wasm-opt ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages (tailwind, wasm-opt)"
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -d end2end/node_modules/@playwright/test ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  log "installing Playwright test runner (browser comes from Debian's chromium)"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
# schemathesis holds the REST API to its OpenAPI document (scripts/api-contract.sh).
schemathesis_version=4.32.5
if [ "$("$HERALD_VENV/bin/schemathesis" --version 2>/dev/null | awk '{print $3}')" != "$schemathesis_version" ]; then
  log "installing schemathesis $schemathesis_version (PyPI) into $HERALD_VENV"
  python3 -m venv "$HERALD_VENV"
  "$HERALD_VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version"
fi
log "toolchain ready"
