#!/usr/bin/env bash
# Builds the plugin and its element tests with clang + ThreadSanitizer into
# ./build-tsan (Debian's LibTorch unless -Dlibtorch= is given) and runs them.
#
#   scripts/test-tsan.sh [MESON_SETUP_ARGS...] [-- TEST_NAMES...]
#   scripts/test-tsan.sh -- dinoseg clipzeroshot      # some element tests only
#   TSAN_BUILD_DIR=build-tsan2 scripts/test-tsan.sh   # another folder
#
# LibTorch, OpenMP, GLib and GStreamer are not instrumented: TSan ignores the
# memory accesses made inside them (ignore_noninstrumented_modules) and the
# few reports that remain in them are suppressed in tests/sanitizers/tsan.supp
# (third-party code only, each entry says why). Any report whose stack
# reaches dinoclip code first fails the run. Not part of CI (see
# docs/reliability.md, "ThreadSanitizer").
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
build="${TSAN_BUILD_DIR:-build-tsan}"
tests=(meta dinofeatures attnoverlay dinoseg clipzeroshot dinometapublish pipeline scheduler)

setup_args=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do setup_args+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ $# -gt 0 ] && tests=("$@")

bash scripts/install-deps.sh
bash scripts/install-fuzz-deps.sh  # clang and its sanitizer runtimes

if [ ! -f "$build/build.ninja" ]; then
  CC=clang CXX=clang++ meson setup "$build" --buildtype=debugoptimized \
    -Db_sanitize=thread -Db_lundef=false -Dintrospection=disabled "${setup_args[@]}"
elif [ ${#setup_args[@]} -gt 0 ]; then
  meson setup --reconfigure "$build" "${setup_args[@]}"
fi
start=$(date +%s)
ninja -C "$build" gst/libgstdinoclip.so "${tests[@]/#/tests/elements/test_element_}"
echo "test-tsan: build took $(( $(date +%s) - start )) s"

source scripts/sanitizer-logs.sh
logs="$root/$build/sanitizer-logs"
fresh_sanitizer_logs "$logs"
# gst-plugin-scanner has no TSan runtime and cannot load our plugin: scan in-process.
export GST_REGISTRY_FORK=no
# GLib's slice allocator hands memory from one thread's magazine to another's
# under locks TSan cannot see: plain malloc, which TSan intercepts, instead.
export G_SLICE=always-malloc
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=0:second_deadlock_stack=1:ignore_noninstrumented_modules=1:suppressions=$root/tests/sanitizers/tsan.supp:print_suppressions=0}:log_path=$logs/tsan"
if [ -z "${TSAN_SYMBOLIZER_PATH:-}" ] && command -v llvm-symbolizer >/dev/null; then
  export TSAN_SYMBOLIZER_PATH="$(command -v llvm-symbolizer)"
fi
start=$(date +%s)
status=0
meson test -C "$build" --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 6 "${tests[@]}" || status=$?
echo "test-tsan: tests took $(( $(date +%s) - start )) s"
check_sanitizer_logs test-tsan "$logs" ThreadSanitizer || status=1
exit $status
