#!/usr/bin/env bash
# `make bench`: figures for the closing notes, on a release build.
#  1. Ingestion: Debian's PostgreSQL 15 manual (postgresql-doc-15, ~1,170
#     HTML pages, fetched with `apt-get download`) served from 127.0.0.1,
#     crawled into a fresh `bench-docs` workspace, then re-crawled unchanged.
#  2. The answer path on the demo workspace.
#  3. The UI's transfer sizes.
#  4. The live thread: 5,000 idle widget sockets on one of two instances,
#     fan-out latency on one instance and across two, memory per socket.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1;34m[bench]\033[0m %s\n' "$*"; }
bench=.data/bench
site=$bench/postgresql-doc-15/usr/share/doc/postgresql-doc-15/html
if [ ! -f $site/index.html ]; then
  say "fetching postgresql-doc-15 with apt-get download"
  mkdir -p $bench/deb
  (cd $bench/deb && apt-get download postgresql-doc-15 2>/dev/null || { ${SUDO:-} apt-get update -qq && apt-get download postgresql-doc-15; })
  dpkg-deb -x $bench/deb/postgresql-doc-15_*.deb $bench/postgresql-doc-15
fi
export DATABASE_URL="${DATABASE_URL:-$(scripts/db.sh --url)}"
say "ingestion: $(ls $site/*.html | wc -l) pages of the PostgreSQL 15 manual"
target/release/tandem bench-ingest --site "$site" --start index.html
say "answer path (demo workspace)"
target/release/tandem bench
node scripts/sizes.mjs
say "live thread: sockets, fan-out latency, memory (tandem-load)"
target/release/tandem-load
say "the widget on a third-party page: transfer sizes and times (headless Chromium)"
scripts/widget-bench.sh
