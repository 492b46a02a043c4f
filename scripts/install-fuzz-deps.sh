#!/usr/bin/env bash
# Debian packages for the sanitizer + libFuzzer build (scripts/test-sanitized.sh,
# scripts/fuzz.sh), on top of scripts/install-deps.sh: clang and its runtimes
# (ASan, UBSan, LSan, libFuzzer). Idempotent; run as root (or with sudo).
set -euo pipefail

packages=(clang libclang-rt-14-dev llvm)  # llvm: llvm-symbolizer for readable stacks

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-fuzz-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
