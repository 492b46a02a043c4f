#!/usr/bin/env bash
# Debian packages for the sanitizer + libFuzzer build (scripts/test-sanitized.sh,
# scripts/fuzz.sh), on top of scripts/install-deps.sh: clang and its runtimes
# (ASan, UBSan, LSan, libFuzzer). Idempotent; run as root (or with sudo).
set -euo pipefail

packages=(clang libclang-rt-14-dev llvm)  # llvm: llvm-symbolizer for readable stacks

source "$(dirname "$0")/apt-missing.sh"
install_missing install-fuzz-deps "${packages[@]}"
