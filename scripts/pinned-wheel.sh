# Sourced by scripts/libtorch.sh and scripts/pgserver.sh: pinned PyPI wheels
# downloaded once into a cache outside the repository ($DINOCLIP_CACHE_DIR,
# default ~/.cache/dinoclip/wheels) and checked against their sha256.
# The caller defines say() and die().

WHEEL_CACHE_DIR="${DINOCLIP_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dinoclip}/wheels"

pip_cmd() {
  for py in python3 /usr/bin/python3; do
    if "$py" -m pip --version >/dev/null 2>&1; then
      "$py" -m pip "$@"
      return
    fi
  done
  die "pip is missing: install it (apt-get install python3-pip) and run again"
}

# Creates the cache and holds its lock (fd 9) until the caller exits: one
# download at a time when several builds start together.
lock_wheel_cache() {
  mkdir -p "$WHEEL_CACHE_DIR"
  exec 9>"$WHEEL_CACHE_DIR/.lock"
  flock 9
}

# fetch_pinned_wheel FILE SHA256 REQUIREMENT PLATFORM...: $WHEEL_CACHE_DIR/FILE,
# downloaded unless it is there with that sha256; a mismatch removes it and dies.
fetch_pinned_wheel() {
  local file="$1" sum="$2" requirement="$3"
  shift 3
  local path="$WHEEL_CACHE_DIR/$file" platforms=()
  for p in "$@"; do platforms+=(--platform "$p"); done
  if [ -f "$path" ] && echo "$sum  $path" | sha256sum --check --status; then
    return
  fi
  say "downloading $requirement into $WHEEL_CACHE_DIR"
  rm -f "$path"
  # --python-version/--platform pin the exact file whatever Python runs pip.
  pip_cmd download --quiet --no-deps --only-binary=:all: --python-version 3.11 "${platforms[@]}" \
    --dest "$WHEEL_CACHE_DIR" "$requirement" >&2
  [ -f "$path" ] || die "pip did not produce $file"
  if ! echo "$sum  $path" | sha256sum --check --status; then
    rm -f "$path"
    die "$file does not match its pinned sha256 ($sum); removed it, nothing was unpacked"
  fi
}
