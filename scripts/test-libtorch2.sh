#!/usr/bin/env bash
# The second CI build: the whole suite against LibTorch 2.x with CUDA (the
# pinned PyPI wheel from scripts/libtorch.sh) in ./build-lt2, compiled with
# clang under AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer at
# every exit) and libFuzzer instrumentation: one build checks LibTorch 2,
# the sanitizers, and holds the fuzz targets that scripts/fuzz.sh runs
# (FUZZ_BUILD_DIR=build-lt2). Every DINOCLIP_WITH_CUDA branch compiles here;
# the GPU tests skip (no GPU in CI). docs/reliability.md has the figures.
#
#   scripts/test-libtorch2.sh [MESON_SETUP_ARGS...] [-- MESON_TEST_ARGS...]
#
# For a plain (unsanitized, release) LibTorch 2 build, e.g. to benchmark:
#   meson setup build-lt2-release -Dlibtorch="$(scripts/libtorch.sh)"
# Run after scripts/test.sh (which installs the Debian packages).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(bash scripts/libtorch.sh)"
SANITIZED_BUILD_DIR="${DINOCLIP_LT2_BUILD_DIR:-build-lt2}" SANITIZED_EXPECT_CUDA=1 \
  exec bash scripts/test-sanitized.sh -Dlibtorch="$root" "$@"
