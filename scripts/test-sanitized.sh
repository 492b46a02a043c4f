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
# Left out of the sanitized run: the 'examples' suite (a system python3 loading
# our ASan-built plugin would need the ASan runtime preloaded) and benchmarks
# (meson test runs them only with --benchmark). docs/reliability.md has the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
build="${SANITIZED_BUILD_DIR:-build-asan}"

setup_args=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do setup_args+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift

bash scripts/install-deps.sh
bash scripts/install-fuzz-deps.sh

if [ ! -f "$build/build.ninja" ]; then
  # debugoptimized: -O2 -g (readable stacks) with assertions on.
  CC=clang CXX=clang++ meson setup "$build" --buildtype=debugoptimized \
    -Db_sanitize=address,undefined -Db_lundef=false -Dfuzzing=enabled "${setup_args[@]}"
elif [ ${#setup_args[@]} -gt 0 ]; then
  meson setup --reconfigure "$build" "${setup_args[@]}"
fi
start=$(date +%s)
ninja -C "$build"
echo "test-sanitized: build took $(( $(date +%s) - start )) s"
[ -n "${SANITIZED_BUILD_ONLY:-}" ] && exit 0

source scripts/sanitizer-env.sh
# Every report also goes to a file, so one from a child process whose exit
# status a test does not check (a CLI run expected to fail) is still seen.
logs="$(pwd)/$build/sanitizer-logs"
rm -rf "$logs" && mkdir -p "$logs"
export ASAN_OPTIONS="$ASAN_OPTIONS:log_path=$logs/asan"
export UBSAN_OPTIONS="$UBSAN_OPTIONS:log_path=$logs/ubsan"
start=$(date +%s)
status=0
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 4 \
  --no-suite examples "$@" || status=$?
echo "test-sanitized: tests took $(( $(date +%s) - start )) s"
reports=$(find "$logs" -type f | sort)
if [ -n "$reports" ]; then
  echo "test-sanitized: sanitizer reports:" >&2
  for r in $reports; do echo "--- $r" >&2; cat "$r" >&2; done
  status=1
else
  echo "test-sanitized: no ASan/UBSan/LSan report"
fi
exit $status
