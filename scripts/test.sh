#!/usr/bin/env bash
# `make test`: set up what is missing, then run every test: Rust unit and
# integration tests against real PostgreSQL + pgvector and the real embedding
# model, then the Playwright end-to-end specs in real Chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
say() { echo "[test] $* (at $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s)"; }
scripts/setup.sh test
scripts/db.sh
export DATABASE_URL="${DATABASE_URL:-$(scripts/db.sh --url)}"

say "format, lints and layers"
python3 scripts/shape.py --check-layers
cargo fmt --all --check
cargo clippy --locked -p app -p server --all-targets -- -D warnings
cargo clippy --locked -p frontend --target wasm32-unknown-unknown -- -D warnings

# One invocation for both crates: `app` gets `ssr` from `server`, and the
# dependencies are built once with one feature set. The fault run (two
# instances, a SIGKILL, a PostgreSQL restart) goes last, printing its counts.
say "app (ssr) and server"
cargo test --locked -p app -p server -- --skip fault_run
say "the live thread's fault run"
cargo test --locked -p server --test fault -- --nocapture

say "the UI and the debug server"
scripts/build.sh debug
say "end-to-end (Playwright, Chromium)"
cd end2end
log="$(mktemp)"
if ! ../node_modules/.bin/playwright test 2>&1 | tee "$log"; then
  # CI shows the last lines: each failure's title, error and spec line again,
  # briefly, so a failure there can be read without its artifacts.
  echo "[test] the end-to-end failures, in short:"
  grep -E '^\s+[0-9]+\) |^\s+Error: |^\s+(Expected|Received|Locator|Timeout)|^\s+at .*\.spec\.ts:' "$log" \
    | sed -E 's/^\s+/  /' | cut -c1-160 | head -40
  exit 1
fi
say "all passed"
