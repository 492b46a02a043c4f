#!/usr/bin/env bash
# Makes a PostgreSQL 16 with pgvector available for the tests and the
# benchmark of the PostgreSQL video index, and prints its root (the folder
# holding bin/ lib/ share/):
#
#   DINOCLIP_PGSERVER="$(scripts/pgserver.sh)" meson test -C build pg_index
#
# Debian 12 packages no pgvector; PyPI's pgserver wheel ships PostgreSQL with
# pgvector built in (pgserver/pginstall/{bin,lib,share}) and the libpq its
# tools link (pgserver.libs/, found through their RPATH). The wheel is
# downloaded once into a cache outside the repository ($DINOCLIP_CACHE_DIR,
# default ~/.cache/dinoclip/wheels), checked against the sha256 below, and
# unpacked into .pgserver/ (git-ignored). A second run prints the root at once.
# dinoclip itself links Debian's libpq (libpq-dev); nothing here is linked.
#
# The server refuses to run as root: as root, the test fixture runs initdb,
# pg_ctl and the server as `nobody`, so everything unpacked here is made
# world-readable.
#
# Progress goes to stderr; stdout is only the root.
set -euo pipefail
cd "$(dirname "$0")/.."

PGSERVER_VERSION=0.1.4  # PostgreSQL 16.2, pgvector 0.6.2 (HNSW: pgvector >= 0.5)
WHEEL="pgserver-0.1.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
SHA256="d595789b47624a3d963aa9aa6359da9be31beb7e61f1a45541953242068b8813"

source scripts/pinned-wheel.sh
DEST="$PWD/.pgserver/pgserver-$PGSERVER_VERSION"
ROOT="$DEST/pgserver/pginstall"

say() { echo "pgserver.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

if [ -f "$DEST/.complete" ]; then
  echo "$ROOT"
  exit 0
fi

lock_wheel_cache
# The Python part of the wheel is not used, only the PostgreSQL in it.
fetch_pinned_wheel "$WHEEL" "$SHA256" "pgserver==$PGSERVER_VERSION" manylinux_2_17_x86_64 manylinux2014_x86_64
path="$WHEEL_CACHE_DIR/$WHEEL"

say "unpacking into $DEST"
rm -rf "$DEST.partial"
mkdir -p "$DEST.partial"
python3 - "$DEST.partial" "$path" <<'EOF'
import os, sys, zipfile
dest, wheel = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        if info.filename.startswith(("pgserver/pginstall/", "pgserver.libs/")):
            z.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777  # zipfile drops the modes: put them back
            if mode and not info.is_dir():
                os.chmod(os.path.join(dest, info.filename), mode)
EOF
chmod -R a+rX "$DEST.partial"
chmod a+rx "$DEST.partial"/pgserver/pginstall/bin/*

# The bundled tools must run here (Debian 12's glibc, libz): a missing library
# would otherwise show later as every pg test failing to start its server.
for tool in postgres initdb pg_ctl psql; do
  bin="$DEST.partial/pgserver/pginstall/bin/$tool"
  missing=$(LD_LIBRARY_PATH="" ldd "$bin" | awk '/not found/ {print $1}' | tr '\n' ' ')
  [ -z "$missing" ] || die "$tool needs libraries this machine lacks: $missing"
  "$bin" --version >/dev/null || die "$tool does not run on this machine"
done
[ -f "$DEST.partial/pgserver/pginstall/lib/postgresql/vector.so" ] || die "the wheel has no pgvector (vector.so)"

rm -rf "$DEST"
mv "$DEST.partial" "$DEST"
touch "$DEST/.complete"
say "$("$ROOT/bin/postgres" --version) with pgvector $(sed -n "s/^default_version = '\(.*\)'/\1/p" \
  "$ROOT/share/postgresql/extension/vector.control") ready"
echo "$ROOT"
