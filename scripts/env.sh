# Toolchain environment for building Herald. Source it: `. scripts/env.sh`.
#
# On machines whose rustup toolchain has no wasm32 standard library (and cannot download it),
# Debian's rustc-web 1.96 builds std for wasm32 from source (-Zbuild-std). We switch to that
# path only when the wasm32 target is missing, so a developer with a normal rustup setup keeps it.
HERALD_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
export HERALD_ROOT
# One target dir per user, outside the checkout, so a fresh clone (CI) reuses earlier builds.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/herald/target}"
export PATH="$HOME/.cargo/bin:$PATH"

herald_has_rustup_wasm() {
  command -v rustup >/dev/null 2>&1 &&
    rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown &&
    [ "$(rustc --version | awk '{split($2,v,"."); print (v[1]*1000+v[2] >= 1096)}')" = 1 ]
}

if [ -z "${HERALD_USE_RUSTUP:-}" ] && ! herald_has_rustup_wasm && [ -x /usr/bin/rustc ] && [ -x /usr/lib/llvm-22/bin/wasm-ld ]; then
  # Debian's cargo/rustc must come before rustup's proxies: cargo-leptos spawns `cargo` from PATH.
  mkdir -p "$HERALD_ROOT/.tools/debrust"
  for tool in cargo rustc rustdoc cargo-clippy clippy-driver cargo-fmt rustfmt; do
    if [ -x "/usr/bin/$tool" ]; then ln -sf "/usr/bin/$tool" "$HERALD_ROOT/.tools/debrust/$tool"; fi
  done
  export PATH="$HERALD_ROOT/.tools/debrust:$PATH"
  export RUSTC=/usr/bin/rustc
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=/usr/lib/llvm-22/bin/wasm-ld
fi
# The wasm build uses -Zbuild-std (Cargo.toml's lib-cargo-args); this lets a stable cargo take it.
export RUSTC_BOOTSTRAP=1
# Read at compile time by leptos_config; cargo-leptos sets it too, so setting it here keeps
# `cargo test` from rebuilding the Leptos crates after a `cargo leptos build`.
export LEPTOS_OUTPUT_NAME=herald
# A Python environment for schemathesis (the API contract test), kept with the build cache.
export HERALD_VENV="${HERALD_VENV:-$HOME/.cache/herald/venv}"
# npm-installed tools (tailwind, binaryen's wasm-opt) before any system copies.
export PATH="$HERALD_ROOT/node_modules/.bin:$PATH"
