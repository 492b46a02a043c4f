#!/usr/bin/env bash
# Builds dinoclip with clang, AddressSanitizer + UndefinedBehaviorSanitizer
# (LeakSanitizer included) and libFuzzer instrumentation into ./build-asan,
# then runs the test suite there.
#
#   scripts/test-sanitized.sh [MESON_SETUP_ARGS...] [-- MESON_TEST_ARGS...]
#   scripts/test-sanitized.sh -Dlibtorch=/opt/libtorch      # against another LibTorch
#   scripts/test-sanitized.sh -- test_io fuzz_corpus_npy    # some tests only
#   SANITIZED_BUILD_DIR=build-asan-lt2 scripts/test-sanitized.sh ...   # another folder
#   SANITIZED_BUILD_ONLY=1 scripts/test-sanitized.sh       # configure + build, no tests
#
# CI runs it through scripts/test-libtorch2.sh: the LibTorch 2 build is this
# sanitized build (build-lt2), so CI compiles twice, not three times.
#
# Left out of the sanitized run: the 'examples' and 'install' suites (a system
# python3 or gst-inspect-1.0 cannot load our instrumented plugin: no sanitizer
# or libFuzzer runtime in those programs) and benchmarks (meson test runs them
# only with --benchmark). docs/reliability.md has the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${SANITIZED_BUILD_DIR:-build-asan}"

setup_args=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do setup_args+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift

bash scripts/install-deps.sh
bash scripts/install-fuzz-deps.sh

if [ ! -f "$build/build.ninja" ]; then
  # debugoptimized: -O2 -g (readable stacks) with assertions on. No GObject
  # introspection: g-ir-scanner's dumper cannot run the instrumented library.
  CC=clang CXX=clang++ meson setup "$build" --buildtype=debugoptimized \
    -Db_sanitize=address,undefined -Db_lundef=false -Dfuzzing=enabled -Dintrospection=disabled "${setup_args[@]}"
else
  # An existing folder configured another way (e.g. a plain gcc build-lt2
  # from before CI's LibTorch 2 build became the sanitized one) is not reused.
  if ! grep -q -- '-fsanitize=address' "$build/build.ninja" || ! grep -q -- '-fsanitize=fuzzer-no-link' "$build/build.ninja"; then
    echo "test-sanitized: $build exists but is not a clang ASan+UBSan+libFuzzer build; remove it (rm -rf $build) and run again" >&2
    exit 1
  fi
  [ ${#setup_args[@]} -gt 0 ] && meson setup --reconfigure "$build" "${setup_args[@]}"
fi
# SANITIZED_EXPECT_CUDA=1 (scripts/test-libtorch2.sh): the summary must say
# CUDA : True, or the GPU code paths would not be compiled.
if [ -n "${SANITIZED_EXPECT_CUDA:-}" ] && ! grep -q "DINOCLIP_WITH_CUDA" "$build/build.ninja"; then
  echo "test-sanitized: $build was configured without CUDA; the GPU code paths would not be compiled" >&2
  exit 1
fi
# ... and with GStreamer's CUDA library (CUDA memory caps; install-deps.sh
# installs it, the CUDA toolkit gives cuda.h).
if [ -n "${SANITIZED_EXPECT_CUDA:-}" ] && ! grep -q "DINOCLIP_WITH_GST_CUDA" "$build/build.ninja"; then
  echo "test-sanitized: $build was configured without GStreamer's CUDA library (gstreamer-cuda-1.0 from" \
    "libgstreamer-plugins-bad1.0-dev, and the CUDA toolkit's cuda.h); the CUDA memory code would not be compiled" >&2
  exit 1
fi
start=$(date +%s)
ninja -C "$build"
echo "test-sanitized: build took $(( $(date +%s) - start )) s"
[ -n "${SANITIZED_BUILD_ONLY:-}" ] && exit 0

bash scripts/pgserver.sh >/dev/null  # PostgreSQL + pgvector for the pg tests (pinned wheel)
source scripts/sanitizer-env.sh
source scripts/sanitizer-logs.sh
logs="$(pwd)/$build/sanitizer-logs"
fresh_sanitizer_logs "$logs"
export ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$logs/asan"
export UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$logs/ubsan"
start=$(date +%s)
status=0
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 4 \
  --no-suite examples --no-suite install "$@" || status=$?
echo "test-sanitized: tests took $(( $(date +%s) - start )) s"
check_sanitizer_logs test-sanitized "$logs" ASan/UBSan/LSan || status=1
exit $status
