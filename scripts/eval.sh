#!/usr/bin/env bash
# `make eval`: the answer engine's figures on the evaluation sets in
# ../shared/eval. Serves squad2-site on 127.0.0.1, crawls it into the
# `squad2` workspace (re-crawls change nothing), then runs `tandem eval` on
# tune.jsonl and report.jsonl. Pass a file to evaluate only that one, and
# TANDEM_BIN to use another build (default: the release build).
set -euo pipefail
cd "$(dirname "$0")/.."
say() { printf '\033[1;34m[eval]\033[0m %s\n' "$*"; }
bin="${TANDEM_BIN:-target/release/tandem}"
sets="${EVAL_DIR:-../shared/eval}"
[ -d "$sets/squad2-site" ] || { echo "no evaluation sets at $sets (set EVAL_DIR)" >&2; exit 1; }
export DATABASE_URL="${DATABASE_URL:-$(scripts/db.sh --url)}"

port="${EVAL_PORT:-3419}"
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$sets/squad2-site" >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/index.html" >/dev/null && break; sleep 0.1; done

say "crawling squad2-site into workspace squad2"
"$bin" ingest --workspace squad2 "http://127.0.0.1:$port/index.html" </dev/null
files=("$@")
[ ${#files[@]} -gt 0 ] || files=("$sets/tune.jsonl" "$sets/report.jsonl")
for f in "${files[@]}"; do
  say "$(basename "$f")"
  "$bin" eval --workspace squad2 --file "$f"
done
