#!/usr/bin/env bash
# Starts the debug `tandem serve` for the end-to-end specs on a fresh database
# (created from DATABASE_URL's server):
#   serve.sh PORT                   with the demo seeded and crawled
#   serve.sh PORT production SITE   no demo (TANDEM_DEMO=false), an empty
#                                   install awaiting its first run (the
#                                   first-run spec)
# The fixture site (fixtures/site-server.mjs) listens on SITE (default
# PORT+1), which the crawler reaches only because it is allowed here.
set -euo pipefail
cd "$(dirname "$0")/.."
port="$1"
mode="${2:-demo}"
site="${3:-$((port + 1))}"
if [ "$mode" = production ]; then
  url="$(scripts/fresh-db.sh tandem_first_run)"
  data="$(pwd)/end2end/test-results/data-setup"
  export TANDEM_DEMO=false
else
  url="$(scripts/fresh-db.sh tandem_e2e)"
  data="$(pwd)/end2end/test-results/data"
  export TANDEM_DEMO_ADMIN_PASSWORD="$E2E_ADMIN_PASSWORD"
fi
rm -rf "$data" && mkdir -p "$data"
export DATABASE_URL="$url" TANDEM_ADDR="127.0.0.1:$port" TANDEM_DATA_DIR="$data" \
  RUST_LOG="${RUST_LOG:-info}" TANDEM_OUTBOUND_ALLOW="127.0.0.1:$site" \
  TANDEM_LIMIT_NEW_VISITORS=600  # every spec's visitors come from 127.0.0.1
exec target/debug/tandem serve
