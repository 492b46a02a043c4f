#!/usr/bin/env bash
# Sets up (packages + build) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
meson test -C build --print-errorlogs --num-processes 2 "$@"
