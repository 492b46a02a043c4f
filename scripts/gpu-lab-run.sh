#!/usr/bin/env bash
# Issue 22's measurements on the bare GPU machine, from a bundle made by
# ../shared/gpu-lab/bundle.sh plus this script and gpu-lab-peers.py copied into it:
#   bash .gpu-bundle/gpu-lab-run.sh [--no-peers]   # about 3 minutes on an H200; logs under $OUT
# GPU tests (graph replay, fused epilogues, TF32 vs eager/fp32, CUDA memory, the device overlay), dinoclip
# bench with CUDA graphs and fused kernels on and off and in fp32/tf32/bf16, issue 21's element table
# (gpu-lab-elements.sh: each element against the model alone and its source alone, from system memory and
# from NVDEC's CUDA memory, 8 streams, the overlay), then PyTorch eager and torch.compile (timm ViT-S/8) on
# the same shapes. Each step has its own time limit; the run goes on after a failure.
set -u
peers=1; for a in "$@"; do [ "$a" = --no-peers ] && peers=0; done
D=$(cd "$(dirname "$0")" && pwd); O=${OUT:-/tmp/gpu-lab-out}; mkdir -p "$O"; T0=$SECONDS
# The bundle travels as one payload (scripts/gpu-lab-bundle.sh): unpacked beside this script, once.
if [ -f "$D/payload.tar.gz" ] && [ ! -d "$D/bin" ]; then
  tar -C "$D" -xzf "$D/payload.tar.gz" || { echo "cannot unpack $D/payload.tar.gz"; exit 2; }
fi
step() { echo; echo "== $* (t=$((SECONDS - T0)) s)"; }
# secs CMD...: wall seconds of CMD, or FAIL(rc) (its stderr goes to $O/errors.txt)
secs() { local a=$EPOCHREALTIME; "$@" >/dev/null 2>>"$O/errors.txt" || { echo "FAIL($?)"; return; }; python3 -c "print(f'{$EPOCHREALTIME - $a:.2f}')"; }
TORCH=$(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))') || { echo "no python3 torch here"; exit 2; }
export LD_LIBRARY_PATH=$D/lib:$TORCH/lib:/usr/local/nvidia/lib64 PATH=$D/bin:$PATH XDG_RUNTIME_DIR=/tmp
export GST_PLUGIN_SYSTEM_PATH_1_0=$D/gst-plugins GST_PLUGIN_PATH_1_0=$D/gst-dinoclip
export GST_PLUGIN_SCANNER_1_0=$D/bin/gst-plugin-scanner GST_REGISTRY_1_0=/tmp/gpu-lab-registry.bin
export DINOCLIP_FIXTURES=$D/fixtures DINOCLIP_VOCAB=$D/fixtures/tokenizer/bpe_simple_vocab_16e6.txt.gz
step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader
python3 -c 'import torch; print("torch", torch.__version__)'; echo "cores $(nproc)"
missing=$(for f in $D/bin/* $D/gst-dinoclip/*.so; do [ -e "$f" ] || continue; ldd "$f" 2>&1 | grep "not found"; done | sort -u)
echo "libraries: ${missing:-all found}"
dinoclip --help >/dev/null 2>&1 || { echo "dinoclip does not start"; dinoclip --help 2>&1 | head -5; exit 3; }
step "GPU tests"
timeout 150 test_gpu_models > "$O/test_gpu_models.txt" 2>&1
echo "test_gpu_models: rc=$? $(grep -cE '^\[       OK \]' "$O/test_gpu_models.txt") ok, $(grep -cE '^\[  FAILED  \] [A-Z]' "$O/test_gpu_models.txt") failed"
grep -E "^\[  FAILED  \] [A-Z]|Failure$" -A4 "$O/test_gpu_models.txt" | head -40
grep -E "max \|diff\||warning:" "$O/test_gpu_models.txt"
elements=0; [ -f "$D/bin/test_gpu_elements" ] && [ -d "$D/gst-dinoclip" ] && elements=1
if [ $elements = 1 ]; then
  timeout 90 test_gpu_elements > "$O/test_gpu_elements.txt" 2>&1
  echo "test_gpu_elements: rc=$? $(grep -cE '^\[       OK \]' "$O/test_gpu_elements.txt") ok, $(grep -cE '^\[  FAILED  \] [A-Z]' "$O/test_gpu_elements.txt") failed"
  grep -E "^\[  FAILED  \] [A-Z]|Failure$" -A4 "$O/test_gpu_elements.txt" | head -20
else echo "test_gpu_elements: not in this bundle"; fi
if [ -f "$D/bin/test_gpu_cuda_memory" ]; then
  # CUDA memory: in-place tensors, foreign contexts, the pool, nvh264dec (reads tests/data from the checkout)
  DINOCLIP_SOURCE_ROOT=$(cd "$D/.." && pwd) timeout 90 test_gpu_cuda_memory > "$O/test_gpu_cuda_memory.txt" 2>&1
  echo "test_gpu_cuda_memory: rc=$? $(grep -cE '^\[       OK \]' "$O/test_gpu_cuda_memory.txt") ok, $(grep -cE '^\[  FAILED  \] [A-Z]' "$O/test_gpu_cuda_memory.txt") failed"
  grep -E "^\[  FAILED  \] [A-Z]|Failure$" -A4 "$O/test_gpu_cuda_memory.txt" | head -20
fi
M=/tmp/gpu-lab-models; mkdir -p $M
dinoclip make-model --arch vits8 --out $M/vits8.safetensors >/dev/null
dinoclip make-model --arch clip-vitb16 --out $M/clipb16.safetensors >/dev/null
dinoclip make-model --arch clip-vitb32 --out $M/clipb32.safetensors >/dev/null
step "dinoclip bench (random weights, input already on the GPU, frames/s; g = CUDA graphs, f = fused epilogues)"
bench() { local label=$1; shift; local out
  out=$(timeout 60 dinoclip bench "$@" --device cuda --iters 20 2>&1) || { echo "$label | FAILED: $(tail -n2 <<<"$out" | tr '\n' ' ')"; return; }
  echo "$label | $(grep -oE '[0-9.]+ frames/s' <<<"$out" | head -1) | $(grep -oE 'median [0-9.]+ ms per batch' <<<"$out" | head -1) | $(grep -E '^CUDA graphs' <<<"$out" | cut -c1-60)"
  echo "$label: $out" >> "$O/bench.txt"; }
W="dino --weights $M/vits8.safetensors"
for b in 1 16 64; do bench "DINO 224 bf16 b$b g+f" $W --size 224x224 --precision bf16 --batch $b; done
for b in 1 64; do bench "DINO 224 bf16 b$b eager+f" $W --size 224x224 --precision bf16 --batch $b --cuda-graphs off; done
for b in 1 64; do bench "DINO 224 bf16 b$b eager, separate kernels (before)" $W --size 224x224 --precision bf16 --batch $b --cuda-graphs off --fused-kernels off; done
for b in 1 16; do bench "DINO 480 bf16 b$b g+f" $W --size 480x480 --precision bf16 --batch $b; done
bench "DINO 480 bf16 b1 eager, separate kernels (before)" $W --size 480x480 --precision bf16 --batch 1 --cuda-graphs off --fused-kernels off
bench "DINO 480 bf16 b16 eager, separate kernels (before)" $W --size 480x480 --precision bf16 --batch 16 --cuda-graphs off --fused-kernels off
for p in fp32 tf32; do
  for b in 1 64; do bench "DINO 224 $p b$b g+f" $W --size 224x224 --precision $p --batch $b; done
  for b in 1 16; do bench "DINO 480 $p b$b g+f" $W --size 480x480 --precision $p --batch $b; done
done
bench "DINO 224 fp32 b64 eager, separate kernels (before)" $W --size 224x224 --precision fp32 --batch 64 --cuda-graphs off --fused-kernels off
for m in clipb16 clipb32; do
  for b in 1 64; do bench "CLIP $m image bf16 b$b g+f" clip --weights $M/$m.safetensors --precision bf16 --batch $b; done
  bench "CLIP $m image bf16 b64 eager, separate (before)" clip --weights $M/$m.safetensors --precision bf16 --batch 64 --cuda-graphs off --fused-kernels off
done
step "DINOv2 / DINOv3 beside v1 (random weights, bf16, graphs + fused)"
dinoclip make-model --arch dinov2-vits14-reg --out $M/v2s14reg.safetensors >/dev/null
dinoclip make-model --arch dinov3-vits16 --out $M/v3s16.safetensors >/dev/null
for b in 1 64; do bench "DINOv2 ViT-S/14 reg 224 bf16 b$b g+f" dino --weights $M/v2s14reg.safetensors --size 224x224 --precision bf16 --batch $b; done
bench "DINOv2 ViT-S/14 reg 476 bf16 b16 g+f" dino --weights $M/v2s14reg.safetensors --size 476x476 --precision bf16 --batch 16
for b in 1 64; do bench "DINOv3 ViT-S/16 224 bf16 b$b g+f" dino --weights $M/v3s16.safetensors --size 224x224 --precision bf16 --batch $b; done
bench "DINOv3 ViT-S/16 480 bf16 b16 g+f" dino --weights $M/v3s16.safetensors --size 480x480 --precision bf16 --batch 16
bench "DINOv3 ViT-S/16 480 fp32 b1 g+f" dino --weights $M/v3s16.safetensors --size 480x480 --precision fp32 --batch 1
[ $elements = 1 ] && source "$D/gpu-lab-elements.sh"
[ $peers = 1 ] || { step "done (no peers)"; exit 0; }
step "PyTorch peers (timm ViT-S/8, random weights): eager and torch.compile"
# Whatever is left of 480 s (the whole run stays under 8 minutes), at most 150 s.
left=$((480 - (SECONDS - T0))); [ $left -gt 150 ] && left=150
if [ $left -gt 20 ]; then PYTHONUNBUFFERED=1 timeout $left python3 $D/gpu-lab-peers.py 2>&1 | grep -E "^peer|^compile|^torch|Error"
else echo "no time left for the peers"; fi
step "done"
