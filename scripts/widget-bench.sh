#!/usr/bin/env bash
# `make bench-widget`: the widget's sizes and times on a third-party page. Starts
# the release `tandem serve` on its own fresh database and the fixture shop on
# another origin, runs scripts/widget-bench.mjs in headless Chromium, stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${BENCH_PORT:-3517}"
export DATABASE_URL="${DATABASE_URL:-$(scripts/db.sh --url)}"
url="$(scripts/fresh-db.sh tandem_widget_bench)"
data="$(mktemp -d)"
DATABASE_URL="$url" TANDEM_ADDR="127.0.0.1:$port" TANDEM_DATA_DIR="$data" RUST_LOG=warn \
  target/release/tandem serve >"$data/serve.log" 2>&1 &
server=$!
node end2end/fixtures/site-server.mjs $((port + 1)) 0 "$port" >/dev/null &
site=$!
trap 'kill $server $site 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 240); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
  sleep 0.5
done
NODE_PATH="$(pwd)/node_modules" node scripts/widget-bench.mjs "http://127.0.0.1:$((port + 1))/shop.html" "http://127.0.0.1:$port" "${RUNS:-7}"
