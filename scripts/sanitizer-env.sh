# Sourced by scripts/test-sanitized.sh and scripts/fuzz.sh: how the sanitizer
# runtimes behave in our runs (docs/reliability.md explains each choice).
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Any report fails the run; leaks are checked at exit (LSan is part of ASan).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:fast_unwind_on_malloc=0:abort_on_error=1:check_initialization_order=1:strict_init_order=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:suppressions=$_root/tests/sanitizers/ubsan.supp}"
# Suppressions name third-party libraries only, never dinoclip code.
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$_root/tests/sanitizers/lsan.supp:print_suppressions=0}"
# GStreamer scans plugins in gst-plugin-scanner, a process without the ASan
# runtime, which cannot load our instrumented plugin: scan in-process instead.
export GST_REGISTRY_FORK=no
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && command -v llvm-symbolizer >/dev/null; then
  export ASAN_SYMBOLIZER_PATH="$(command -v llvm-symbolizer)"
fi
unset _root
