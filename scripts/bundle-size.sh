#!/usr/bin/env bash
# Prints the size of the hydration bundle (wasm + JS + CSS) raw and after brotli (quality 11),
# from the last `cargo leptos build --release`.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
node -e '
const fs = require("fs"), zlib = require("zlib"), path = require("path");
const dir = path.join(process.argv[1], "site", "pkg");
// The files are named by their hashes (hash-files in Cargo.toml), listed beside the binary.
const hashes = Object.fromEntries(fs.readFileSync(path.join(process.argv[1], "release", "hash.txt"), "utf8")
  .split("\n").filter((l) => l.includes(":")).map((l) => l.split(":").map((s) => s.trim())));
let raw = 0, packed = 0;
for (const name of ["wasm", "js", "css"].map((ext) => `herald.${hashes[ext]}.${ext}`)) {
  const bytes = fs.readFileSync(path.join(dir, name));
  const brotli = zlib.brotliCompressSync(bytes, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  raw += bytes.length; packed += brotli;
  console.log(`${name.padEnd(36)} ${String(bytes.length).padStart(9)} B raw  ${String(brotli).padStart(8)} B brotli`);
}
console.log(`${"total".padEnd(36)} ${String(raw).padStart(9)} B raw  ${String(packed).padStart(8)} B brotli (target 200 KB)`);
' "$CARGO_TARGET_DIR"
