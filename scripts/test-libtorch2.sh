#!/usr/bin/env bash
# The second CI build: the whole suite against LibTorch 2.x with CUDA (the
# pinned PyPI wheel from scripts/libtorch.sh) in ./build-lt2. Every
# DINOCLIP_WITH_CUDA branch compiles here; the GPU tests skip (no GPU in CI).
# Extra arguments go to `meson setup`, e.g.
#   scripts/test-libtorch2.sh -Db_sanitize=address,undefined
# Run after scripts/test.sh (which installs the Debian packages).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR="${DINOCLIP_LT2_BUILD_DIR:-build-lt2}"

root="$(bash scripts/libtorch.sh)"
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  meson setup "$BUILD_DIR" -Dlibtorch="$root" "$@"
else
  meson setup --reconfigure "$BUILD_DIR" -Dlibtorch="$root" "$@"
fi
# The summary must say CUDA : True, or the GPU branches were not compiled.
if ! grep -q "DINOCLIP_WITH_CUDA" "$BUILD_DIR/build.ninja"; then
  echo "test-libtorch2: $BUILD_DIR was configured without CUDA; the GPU code paths would not be compiled" >&2
  exit 1
fi
ninja -C "$BUILD_DIR"
meson test -C "$BUILD_DIR" --print-errorlogs --num-processes 2
