#!/usr/bin/env bash
# Sets up (packages + build) and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
bash scripts/pgserver.sh >/dev/null  # PostgreSQL + pgvector for the pg tests (pinned wheel)
meson test -C build --print-errorlogs --num-processes 2 "$@"
