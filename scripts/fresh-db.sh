#!/usr/bin/env bash
# Prints the URL of a new, empty database PREFIX_<time>_<pid> on the server of
# DATABASE_URL, after dropping earlier ones with the same prefix (left by runs
# that were killed). Used by the end-to-end server and the widget bench.
#   scripts/fresh-db.sh PREFIX
set -euo pipefail
prefix="$1"
master="${DATABASE_URL:?DATABASE_URL must point at a PostgreSQL server}"
for old in $(psql "$master" -qtAc "select datname from pg_database where datname like '${prefix}\_%'"); do
  psql "$master" -qc "drop database if exists $old" >/dev/null 2>&1 || true
done
db="${prefix}_$(date +%s)_$$"
psql "$master" -qc "create database $db" >/dev/null
# (Built by hand: urlunsplit drops the // of a URL with no host, postgres:///x.)
python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(f"{p.scheme}://{p.netloc}/{sys.argv[2]}" + (f"?{p.query}" if p.query else ""))' "$master" "$db"
