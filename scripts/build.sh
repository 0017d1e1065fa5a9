#!/usr/bin/env bash
# Builds Tandem: the hydrated UI (WASM + JS + CSS into target/site/pkg) and the
# `tandem` server binary.
#   scripts/build.sh release   optimised server (what `make run` serves)
#   scripts/build.sh debug     dev server (dependencies still optimised), for tests
# The UI is always built with the wasm-release profile and wasm-opt, so tests
# exercise exactly what ships.
set -euo pipefail
cd "$(dirname "$0")/.."
# Tools that `cargo install` puts here (wasm-bindgen).
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
mode="${1:-release}"
site=target/site/pkg
mkdir -p "$site"

echo "[build] UI (wasm32, wasm-release)"
cargo build --locked -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release
wasm-bindgen target/wasm32-unknown-unknown/wasm-release/frontend.wasm \
  --target web --no-typescript --out-dir "$site" --out-name tandem
node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
  "$site/tandem_bg.wasm" -o "$site/tandem_bg.wasm"
node_modules/.bin/tailwindcss -i style/tailwind.css -o "$site/tandem.css" --minify 2>/dev/null

echo "[build] server ($mode)"
if [ "$mode" = release ]; then
  cargo build --locked -p server --release
else
  cargo build --locked -p server
fi
