#!/usr/bin/env bash
# Writes .sqlx/, the checked queries' data that lets every build (and CI)
# compile `sqlx::query!` and friends without a database: a fresh database
# gets the migrations, the server's targets are compiled against it with the
# macros told to save what they learn, and .sqlx/ is replaced by the result.
# Run it after changing a checked query or a migration; commit .sqlx/.
#   scripts/sqlx-prepare.sh
# `make test` checks the committed data against the migrations
# (server/tests/api/checked_sql.rs), so a stale .sqlx/ fails there.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/db.sh >/dev/null
export DATABASE_URL="${DATABASE_URL:-$(scripts/db.sh --url)}"
url=$(scripts/fresh-db.sh tandem_sqlx)
# The migrations as sqlx applies them (one refers to its bookkeeping table).
psql "$url" -q -c "create table _sqlx_migrations (version bigint primary key,
  description text not null, installed_on timestamptz not null default now(),
  success boolean not null, checksum bytea not null, execution_time bigint not null)"
for migration in migrations/*.sql; do
  psql "$url" -q -v ON_ERROR_STOP=1 -f "$migration" >/dev/null
done
out=$(mktemp -d)
# Touching the sources makes every query macro run again (cargo would
# otherwise keep the expansions of unchanged files, and save nothing).
find server/src server/tests -name '*.rs' -exec touch {} +
SQLX_OFFLINE=false SQLX_OFFLINE_DIR="$out" DATABASE_URL="$url" \
  cargo build --locked -p server --all-targets
rm -rf .sqlx
mkdir -p .sqlx
cp "$out"/query-*.json .sqlx/ 2>/dev/null || true
rm -rf "$out"
db=$(python3 -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1]).path.lstrip("/"))' "$url")
psql "$DATABASE_URL" -qc "drop database if exists $db" >/dev/null
echo "[sqlx-prepare] $(ls .sqlx | wc -l) checked queries in .sqlx/"
