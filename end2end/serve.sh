#!/usr/bin/env bash
# Starts the debug `tandem serve` for the end-to-end specs on a fresh database
# (created from DATABASE_URL's server), with the demo seeded and crawled.
set -euo pipefail
cd "$(dirname "$0")/.."
port="$1"
master="${DATABASE_URL:?DATABASE_URL must point at a PostgreSQL server (make test sets it)}"
db="tandem_e2e_$(date +%s)_$$"
with_db() {
  python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$master" "$1"
}
for old in $(psql "$master" -qtAc "select datname from pg_database where datname like 'tandem_e2e_%'"); do
  psql "$master" -qc "drop database if exists $old" >/dev/null 2>&1 || true
done
psql "$master" -qc "create database $db"
data="$(pwd)/end2end/test-results/data"
rm -rf "$data" && mkdir -p "$data"
export DATABASE_URL="$(with_db "$db")" TANDEM_ADDR="127.0.0.1:$port" TANDEM_DATA_DIR="$data" \
  TANDEM_DEMO_ADMIN_PASSWORD="$E2E_ADMIN_PASSWORD" RUST_LOG="${RUST_LOG:-info}"
exec target/debug/tandem serve
