#!/usr/bin/env bash
# `make run`: set up what is missing, build, start Tandem.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh run
scripts/db.sh
scripts/build.sh release
exec target/release/tandem serve
