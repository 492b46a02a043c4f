#!/usr/bin/env bash
# CPU speed of the two LibTorch builds in one run: `dinoclip bench dino` on a
# random DINO ViT-S/8 at 224x224 and 480x480, fp32 and bf16, with ./build
# (Debian's LibTorch 1.13) and ./build-lt2 (scripts/libtorch.sh's 2.x wheel)
# taking turns, so both see the same machine load. Prints one line per case.
#   scripts/bench-libtorch-versions.sh [ITERS]     (default 5 timed runs each)
# Needs both builds' examples/cli/dinoclip (ninja -C build examples/cli/dinoclip).
set -euo pipefail
cd "$(dirname "$0")/.."
ITERS="${1:-5}"
BUILDS=(build build-lt2)
for b in "${BUILDS[@]}"; do
  [ -x "$b/examples/cli/dinoclip" ] || { echo "bench-libtorch-versions: $b/examples/cli/dinoclip is missing: build it first" >&2; exit 1; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
build/examples/cli/dinoclip make-model --arch vits8 --out "$work/vits8.safetensors" >/dev/null

for size in 224x224 480x480; do
  for precision in fp32 bf16; do
    for b in "${BUILDS[@]}"; do
      line="$("$b/examples/cli/dinoclip" bench dino --weights "$work/vits8.safetensors" --size "$size" \
              --precision "$precision" --iters "$ITERS" | grep '^dino forward')"
      printf '%-10s %-8s %-5s %s\n' "$b" "$size" "$precision" "${line#dino forward: }"
    done
  done
done
