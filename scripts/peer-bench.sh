#!/usr/bin/env bash
# Peer benchmark, one command: dinoclip vs OpenVINO vs ONNX Runtime vs the
# reference PyTorch forward on DINO ViT-S/8 (224, 480), DINOv2 ViT-S/14-reg
# (224, 476), DINOv3 ViT-S/16 (224, 480) and CLIP ViT-B/32 (image batch 1 and
# 8, text 5 labels), fp32 and bf16, ratios measured in the same run.
#
#   scripts/peer-bench.sh [BUILD_DIR] [-- peer_bench.py options]
#     --quick                 DINO families at 224 only, no CLIP
#     --families dinov2,dinov3  a subset of dino, dinov2, dinov3, clip
#     --batch8                also the DINO families at 224, batch 8
#     --iters N               timed runs per peer (default 5; half at 476/480)
#
# Makes .peer-venv/ (git-ignored) with pinned onnxruntime and openvino from
# PyPI on top of /usr/bin/python3 and its python3-torch (scripts/install-deps.sh
# installs it), checks the DINOv2/v3 references against ../shared/fixtures,
# builds random weights (dinoclip make-model for DINOv2/v3), exports them to
# ONNX, checks every peer's outputs against PyTorch and prints a Markdown table
# (docs/performance.md holds the last one) with the load average per row.
# Takes about 10-15 minutes on a quiet 2-core machine (estimated; one with load
# 10-19 took about 50); run it on a quiet machine: the load average before and
# after is printed.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$root/build}"
[ "$#" -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift

ORT_VERSION=1.30.0  # the version issue 10 measured against
OPENVINO_VERSION=2026.4.1
venv="$root/.peer-venv"

cli="$build/examples/cli/dinoclip"
[ -x "$cli" ] || { echo "peer-bench: $cli not found: build dinoclip first (meson setup $build && ninja -C $build)" >&2; exit 1; }
/usr/bin/python3 -c "import torch" 2>/dev/null || { echo "peer-bench: Debian's python3-torch is missing: run scripts/install-deps.sh" >&2; exit 1; }

if ! "$venv/bin/python" -c "import onnxruntime, openvino, sys; sys.exit(onnxruntime.__version__ != '$ORT_VERSION' or
    not openvino.__version__.startswith('$OPENVINO_VERSION'))" 2>/dev/null; then
  echo "peer-bench: making $venv with onnxruntime==$ORT_VERSION openvino==$OPENVINO_VERSION"
  /usr/bin/python3 -m venv --system-site-packages "$venv"
  # numpy<2: Debian's torch 1.13 was built against numpy 1.x.
  "$venv/bin/pip" install -q "onnxruntime==$ORT_VERSION" "openvino==$OPENVINO_VERSION" "numpy<2"
fi

vocab="${DINOCLIP_VOCAB:-$root/../shared/fixtures/tokenizer/bpe_simple_vocab_16e6.txt.gz}"
[ -f "$vocab" ] || { echo "peer-bench: CLIP vocabulary $vocab not found: set DINOCLIP_VOCAB" >&2; exit 1; }

echo "peer-bench: $(date -u '+%Y-%m-%d %H:%M UTC'), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
echo "peer-bench: dinoclip threads: default; OpenVINO: 2 threads, latency hint; ONNX Runtime: 2 intra-op threads; PyTorch: best of 1 and 2 threads"
echo "peer-bench: before: $(uptime)"
status=0
"$venv/bin/python" "$root/scripts/peer_bench.py" --dinoclip "$cli" --vocab "$vocab" "$@" || status=$?
echo "peer-bench: after: $(uptime)"
exit "$status"
