#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz/ (docs/reliability.md).
#
#   scripts/fuzz.sh [-t SECONDS] [-j PARALLEL] [TARGET...]
#     -t SECONDS   fuzzing time per target (default 60; CI's smoke run uses 30)
#     -j PARALLEL  targets fuzzed at once, one process each (default 1)
#     TARGET       checkpoint pickle safetensors zip npy image tokenizer
#                  user_strings video_index (default: all)
#
# Uses the clang ASan+UBSan+libFuzzer build of scripts/test-sanitized.sh
# (FUZZ_BUILD_DIR, default build-asan; CI uses build-lt2, the LibTorch 2
# sanitized build of scripts/test-libtorch2.sh; configured and its fuzz
# targets built if missing). FUZZ_NO_BUILD=1 runs the binaries as they are
# (no ninja: for long runs while that build folder is being rebuilt). New inputs go to BUILD/fuzz-corpus/TARGET (kept between runs,
# so runs add up); the committed seeds in tests/fuzz/corpus/TARGET are read
# only. A crash, leak, sanitizer report, timeout (10 s on one input) or an
# allocation over 2 GB is written to BUILD/fuzz-artifacts/TARGET/ and makes
# the script fail; copy it into tests/fuzz/corpus/TARGET/ with the fix.
# Each run appends "target seconds-run executions result" to BUILD/fuzz-stats.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
build="${FUZZ_BUILD_DIR:-build-asan}"
all_targets=(checkpoint pickle safetensors zip npy image tokenizer user_strings video_index)

seconds=60
parallel=1
while getopts "t:j:" opt; do
  case "$opt" in
    t) seconds="$OPTARG" ;;
    j) parallel="$OPTARG" ;;
    *) sed -n '2,20p' "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")
for t in "${targets[@]}"; do
  [ -f "tests/fuzz/fuzz_$t.cpp" ] || { echo "fuzz.sh: no target '$t' (have: ${all_targets[*]})" >&2; exit 2; }
done

if [ -z "${FUZZ_NO_BUILD:-}" ]; then
  if [ ! -f "$build/build.ninja" ]; then
    SANITIZED_BUILD_ONLY=1 SANITIZED_BUILD_DIR="$build" bash scripts/test-sanitized.sh
  fi
  ninja -C "$build" "${targets[@]/#/tests/fuzz/fuzz_}"
fi
for t in "${targets[@]}"; do
  [ -x "$build/tests/fuzz/fuzz_$t" ] || { echo "fuzz.sh: $build/tests/fuzz/fuzz_$t is missing" >&2; exit 2; }
done

source scripts/sanitizer-env.sh
export DINOCLIP_FIXTURES="${DINOCLIP_FIXTURES:-$root/../shared/fixtures}"
# libFuzzer reports leaks itself, per input; keep its own abort behaviour.
export ASAN_OPTIONS="${ASAN_OPTIONS/abort_on_error=1/abort_on_error=0}"

mkdir -p "$build/fuzz-logs"
run_one() {
  local t="$1"
  local work="$build/fuzz-corpus/$t" artifacts="$build/fuzz-artifacts/$t" log="$build/fuzz-logs/$t.log"
  mkdir -p "$work" "$artifacts"
  local status=0 began
  began=$(date +%s)
  "$build/tests/fuzz/fuzz_$t" "$work" "tests/fuzz/corpus/$t" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -max_len=16384 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1 || status=$?
  local execs
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  local result=ok
  [ "$status" -ne 0 ] && result="FAILED(exit $status)"
  printf '%s\t%s\t%s\t%s\n' "$t" "$(( $(date +%s) - began ))" "${execs:-0}" "$result" | tee -a "$build/fuzz-stats.tsv"
  if [ "$status" -ne 0 ]; then
    grep -E 'ERROR|SUMMARY|Test unit written|==[0-9]+==' "$log" | head -20 >&2
    return 1
  fi
}

start=$(date +%s)
failed=0
pids=()
for t in "${targets[@]}"; do
  run_one "$t" &
  pids+=($!)
  if [ ${#pids[@]} -ge "$parallel" ]; then
    wait "${pids[0]}" || failed=1
    pids=("${pids[@]:1}")
  fi
done
for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
echo "fuzz.sh: ${#targets[@]} targets x ${seconds} s in $(( $(date +%s) - start )) s; logs in $build/fuzz-logs/"
exit $failed
