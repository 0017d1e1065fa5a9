#!/usr/bin/env bash
# Builds Tandem: the hydrated UI (WASM + JS + CSS into target/site/pkg) and the
# `tandem` server binary.
#   scripts/build.sh release   optimised server (what `make run` serves)
#   scripts/build.sh debug     dev server, for tests
# The UI is always built with the wasm-release profile and wasm-opt, so tests
# exercise exactly what ships.
set -euo pipefail
cd "$(dirname "$0")/.."
# Tools that `cargo install` puts here (wasm-bindgen).
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
mode="${1:-release}"
site=target/site/pkg
mkdir -p "$site"

# Two bundles from the `frontend` crate: `tandem` hydrates every page; `widget`
# (the `widget` feature) hydrates the chat frame alone, so a visitor's first
# open downloads a fraction of it.
bundle() {
  local name="$1"; shift
  echo "[build] UI bundle $name (wasm32, wasm-release)"
  cargo build --locked -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release "$@"
  wasm-bindgen target/wasm32-unknown-unknown/wasm-release/frontend.wasm \
    --target web --no-typescript --out-dir "$site" --out-name "$name"
  node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
    "$site/${name}_bg.wasm" -o "$site/${name}_bg.wasm"
}
# Compressed copies of an older build must never be sent for a newer one.
rm -f "$site"/*.br "$site"/*.gz
bundle tandem
bundle widget --features widget
node_modules/.bin/tailwindcss -i style/tailwind.css -o "$site/tandem.css" --minify 2>/dev/null
# Compressed once here at the highest levels; the server sends these as they are.
node scripts/precompress.mjs "$site"

echo "[build] server ($mode)"
if [ "$mode" = release ]; then
  cargo build --locked -p server --release
else
  cargo build --locked -p server
fi
