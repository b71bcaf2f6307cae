#!/usr/bin/env bash
# Prints the size of the hydration bundle (wasm + JS + CSS) raw and after brotli (quality 11),
# from the last `cargo leptos build --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
node -e '
const fs = require("fs"), zlib = require("zlib"), path = require("path");
const dir = path.join(process.argv[1], "site", "pkg");
let raw = 0, packed = 0;
for (const name of ["herald.wasm", "herald.js", "herald.css"]) {
  const bytes = fs.readFileSync(path.join(dir, name));
  const brotli = zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  raw += bytes.length; packed += brotli;
  console.log(`${name.padEnd(12)} ${String(bytes.length).padStart(9)} B raw  ${String(brotli).padStart(8)} B brotli`);
}
console.log(`${"total".padEnd(12)} ${String(raw).padStart(9)} B raw  ${String(packed).padStart(8)} B brotli (target 200 KB)`);
' "$CARGO_TARGET_DIR"
