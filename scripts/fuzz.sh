#!/usr/bin/env bash
# `make fuzz`: a bounded run of each fuzz target (the socket protocol's
# decoder, the HTML-to-text path), FUZZ_SECONDS each (default 120), growing
# the corpus kept in fuzz/corpus/ (minimised afterwards). Needs the nightly
# toolchain and cargo-fuzz (installed from crates.io if missing); without
# nightly it says so and stops. `make test` replays the kept corpus on
# stable (server/tests/fuzz_corpus.rs).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-120}"
if ! rustup toolchain list | grep -q '^nightly'; then
  echo "[fuzz] SKIPPED: no nightly toolchain (rustup toolchain install nightly)" >&2
  exit 0
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "[fuzz] installing cargo-fuzz from crates.io"
  cargo install --locked cargo-fuzz
fi
cd fuzz
for target in client_msg html_to_text; do
  mkdir -p "corpus/$target" "artifacts/$target"
  echo "[fuzz] $target for ${seconds} s"
  # The demo help centre seeds the HTML target (read, never written).
  seeds=""; [ "$target" = html_to_text ] && seeds="../server/demo-site"
  status=0
  cargo +nightly fuzz run "$target" "corpus/$target" $seeds -- \
    -max_total_time="$seconds" -max_len=65536 -print_final_stats=1 \
    > "artifacts/$target.log" 2>&1 || status=$?
  grep -E "^(#[0-9]+ *DONE|stat::number_of_executed_units|SUMMARY)" "artifacts/$target.log" || true
  if [ "$status" != 0 ] || ls "artifacts/$target"/crash-* >/dev/null 2>&1; then
    echo "[fuzz] $target FAILED (exit $status): see fuzz/artifacts/$target.log and fuzz/artifacts/$target/" >&2
    tail -20 "artifacts/$target.log" >&2
    exit 1
  fi
  cargo +nightly fuzz cmin "$target" "corpus/$target" >/dev/null 2>&1 || true
  echo "[fuzz] $target: $(grep -o 'stat::number_of_executed_units: [0-9]*' "artifacts/$target.log" | awk '{print $2}') executions, 0 crashes, $(ls "corpus/$target" | wc -l) inputs in the corpus"
done
