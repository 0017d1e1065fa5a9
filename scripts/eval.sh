#!/usr/bin/env bash
# `make eval`: the answer engine's figures on every public evaluation set in
# ../shared/eval (see its README), tune and report files alike:
#   - squad2-site crawled into workspace `squad2`: tune/report (Wikipedia,
#     English) and xling-tune/xling-report (the same pages, 11 languages);
#   - the SQLite 3.40 manual (Debian's sqlite3-doc, fetched once into
#     .data/sqlite-doc) crawled into workspace `sqlite`: sqlite-tune/report;
#   - intents-tune/report (requests for a person, sensitive topics; 12
#     languages) on workspace `squad2`.
# Re-crawls change nothing. Pass files to evaluate only those (each on the
# workspace its name implies), TANDEM_BIN to use another build (default: the
# release build), EVAL_JSON=1 for JSON figures.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1;34m[eval]\033[0m %s\n' "$*"; }
bin="${TANDEM_BIN:-target/release/tandem}"
sets="${EVAL_DIR:-../shared/eval}"
[ -d "$sets/squad2-site" ] || { echo "no evaluation sets at $sets (set EVAL_DIR)" >&2; exit 1; }
export DATABASE_URL="${DATABASE_URL:-$(scripts/db.sh --url)}"

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  for f in tune report xling-tune xling-report sqlite-tune sqlite-report intents-tune intents-report; do
    files+=("$sets/$f.jsonl")
  done
fi
need_sqlite=0
for f in "${files[@]}"; do case "$(basename "$f")" in sqlite-*) need_sqlite=1 ;; esac; done

pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
serve() { # folder port
  python3 -m http.server "$2" --bind 127.0.0.1 --directory "$1" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$2/index.html" >/dev/null && return; sleep 0.1; done
}

port="${EVAL_PORT:-3419}"
serve "$sets/squad2-site" "$port"
say "crawling squad2-site into workspace squad2"
# The sets are served on 127.0.0.1, which Tandem reaches only when allowed.
TANDEM_OUTBOUND_ALLOW="127.0.0.1:$port" "$bin" ingest --workspace squad2 "http://127.0.0.1:$port/index.html" </dev/null

if [ $need_sqlite = 1 ]; then
  doc=.data/sqlite-doc/usr/share/doc/sqlite3
  if [ ! -f $doc/index.html ]; then
    say "fetching the SQLite 3.40 documentation (Debian's sqlite3-doc)"
    mkdir -p .data/sqlite-doc
    (cd .data/sqlite-doc && apt-get download sqlite3-doc >/dev/null 2>&1 && dpkg -x sqlite3-doc_*.deb .)
  fi
  sport=$((port + 1))
  serve "$doc" "$sport"
  say "crawling the SQLite manual into workspace sqlite (about 760 pages; 404s expected)"
  TANDEM_OUTBOUND_ALLOW="127.0.0.1:$sport" "$bin" ingest --workspace sqlite "http://127.0.0.1:$sport/index.html" </dev/null
fi

for f in "${files[@]}"; do
  case "$(basename "$f")" in sqlite-*) ws=sqlite ;; *) ws=squad2 ;; esac
  say "$(basename "$f") on $ws"
  "$bin" eval --workspace "$ws" --file "$f" ${EVAL_JSON:+--json}
done
