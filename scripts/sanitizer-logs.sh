# Sourced by scripts/test-sanitized.sh and scripts/test-tsan.sh. Sanitizer
# reports also go to files (log_path=...), so one from a child process whose
# exit status a test does not check (a CLI run expected to fail) is still seen.

# fresh_sanitizer_logs DIR: empties DIR for this run.
fresh_sanitizer_logs() {
  rm -rf "$1" && mkdir -p "$1"
}

# check_sanitizer_logs NAME DIR WHAT: prints every report in DIR and returns 1,
# or says there was none and returns 0.
check_sanitizer_logs() {
  local name="$1" dir="$2" what="$3" reports
  reports=$(find "$dir" -type f | sort)
  if [ -z "$reports" ]; then
    echo "$name: no $what report"
    return 0
  fi
  echo "$name: $what reports:" >&2
  for r in $reports; do echo "--- $r" >&2; cat "$r" >&2; done
  return 1
}
