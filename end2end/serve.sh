#!/usr/bin/env bash
# Starts the debug `tandem serve` for the end-to-end specs on a fresh database
# (created from DATABASE_URL's server), with the demo seeded and crawled.
set -euo pipefail
cd "$(dirname "$0")/.."
port="$1"
url="$(scripts/fresh-db.sh tandem_e2e)"
data="$(pwd)/end2end/test-results/data"
rm -rf "$data" && mkdir -p "$data"
# Every spec's visitors come from 127.0.0.1 (hence the new-visitor limit);
# the fixture site (fixtures/site-server.mjs) listens on the next port, which
# the crawler reaches only because it is allowed here.
export DATABASE_URL="$url" TANDEM_ADDR="127.0.0.1:$port" TANDEM_DATA_DIR="$data" \
  TANDEM_DEMO_ADMIN_PASSWORD="$E2E_ADMIN_PASSWORD" RUST_LOG="${RUST_LOG:-info}" \
  TANDEM_LIMIT_NEW_VISITORS=600 TANDEM_OUTBOUND_ALLOW="127.0.0.1:$((port + 1))"
exec target/debug/tandem serve
