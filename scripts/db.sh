#!/usr/bin/env bash
# Starts Tandem's private PostgreSQL cluster (data under $TANDEM_DATA_DIR/pg,
# default .data/pg; a Unix socket only, no TCP port) unless DATABASE_URL is set.
#   scripts/db.sh          start it if needed (idempotent)
#   scripts/db.sh --url    print the URL to reach it
#   scripts/db.sh --stop   stop it
set -euo pipefail
cd "$(dirname "$0")/.."
data="$(pwd)/${TANDEM_DATA_DIR:-.data}"
run="$data/run"
url="postgres:///tandem?host=$run&user=tandem"

if [ "${1:-}" = --url ]; then
  if [ -n "${DATABASE_URL:-}" ]; then echo "$DATABASE_URL"; else echo "$url"; fi
  exit 0
fi
if [ -n "${DATABASE_URL:-}" ]; then
  [ "${1:-}" = --stop ] || echo "[db] using DATABASE_URL"
  exit 0
fi

pgbin=/usr/lib/postgresql/15/bin
# runuser lives in /usr/sbin, which a minimal PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
if [ "${1:-}" = --stop ]; then
  [ -f "$data/pg/postmaster.pid" ] && as_pg $pgbin/pg_ctl -D "$data/pg" -m fast stop >/dev/null || true
  exit 0
fi

mkdir -p "$data"
if [ "$(id -u)" = 0 ]; then
  # PostgreSQL refuses to run as root: the cluster belongs to `postgres`, who
  # must be able to reach the project's folder.
  if ! runuser -u postgres -- test -x "$data"; then
    d="$data"
    while [ "$d" != / ]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
    echo "[db] made the path to $data traversable for the postgres user"
  fi
fi
if [ ! -f "$data/pg/PG_VERSION" ]; then
  echo "[db] creating the private cluster in $data/pg"
  mkdir -p "$data/pg" "$run"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$data/pg" "$run"
  chmod 700 "$data/pg" "$run"
  as_pg $pgbin/initdb -D "$data/pg" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  cat >> "$data/pg/postgresql.conf" <<CONF
# Tandem's private cluster: Unix socket only, in a folder only its owner can reach.
listen_addresses = ''
unix_socket_directories = '$run'
max_connections = 200
shared_buffers = 256MB
CONF
fi
if ! as_pg $pgbin/pg_ctl -D "$data/pg" status >/dev/null 2>&1; then
  rm -f "$run/.s.PGSQL.5432.lock"
  as_pg $pgbin/pg_ctl -D "$data/pg" -l "$data/pg/server.log" -w -t 60 start >/dev/null
fi
psql_pg() { psql -h "$run" -U postgres -d postgres -v ON_ERROR_STOP=1 -qtAc "$1"; }
if [ "$(psql_pg "select 1 from pg_roles where rolname = 'tandem'")" != 1 ]; then
  psql_pg "create role tandem login superuser"
fi
if [ "$(psql_pg "select 1 from pg_database where datname = 'tandem'")" != 1 ]; then
  psql_pg "create database tandem owner tandem"
fi
echo "[db] private cluster ready ($run)"
