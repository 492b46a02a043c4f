#!/usr/bin/env bash
# Installs the Debian packages (if missing), then configures and builds dinoclip
# into ./build. Extra arguments go to `meson setup` (e.g. -Dlibtorch=/opt/libtorch).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
if [ ! -f build/build.ninja ]; then
  meson setup build "$@"
elif [ $# -gt 0 ]; then
  meson setup --reconfigure build "$@"
fi
ninja -C build
