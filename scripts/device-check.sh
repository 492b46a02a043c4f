#!/usr/bin/env bash
# Device check for a machine with an NVIDIA GPU and a Python PyTorch (2.6 or
# newer, CUDA build) installed: builds dinoclip against that torch's LibTorch
# (only the GPU tests, the CLI and, when GStreamer is there, the plugin), runs
# the GPU tests, then times DINO and CLIP on the GPU. Target: under 8 minutes.
#
#   scripts/device-check.sh            # python3's torch, build dir build-gpu
#   PYTHON=/path/to/python scripts/device-check.sh
#
# Needs meson, ninja, a C++17 compiler and the build's libraries (libpng,
# libjpeg, zlib, utf8proc, nlohmann-json, freetype, GoogleTest: see
# scripts/install-deps.sh). GPU tests compare with ../shared/fixtures when it
# is there and skip those checks otherwise. Extra arguments go to meson setup.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS
PYTHON="${PYTHON:-python3}"
BUILD_DIR="${DINOCLIP_GPU_BUILD_DIR:-build-gpu}"
say() { printf '\n== device-check: %s (%ds)\n' "$*" $((SECONDS - started)); }

say "PyTorch"
root=$("$PYTHON" - <<'PY'
import os, sys
try:
    import torch
except ImportError:
    sys.exit("device-check: this Python has no torch; install a CUDA PyTorch (pip install torch) or set PYTHON")
if not torch.cuda.is_available():
    sys.exit(f"device-check: torch {torch.__version__} sees no CUDA GPU (CUDA build: {torch.version.cuda})")
if not torch.compiled_with_cxx11_abi():
    sys.exit(f"device-check: torch {torch.__version__} uses the old C++ ABI; use torch 2.6 or newer")
print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {torch.cuda.device_count()} GPU(s): "
      f"{torch.cuda.get_device_name(0)}", file=sys.stderr)
print(os.path.dirname(torch.__file__))
PY
)
for tool in meson ninja; do
  command -v "$tool" >/dev/null || { echo "device-check: $tool is missing (pip install meson ninja)" >&2; exit 1; }
done

say "configure against $root"
if [ -f "$BUILD_DIR/build.ninja" ]; then
  meson setup --reconfigure "$BUILD_DIR" -Dlibtorch="$root" "$@" >/dev/null
else
  meson setup "$BUILD_DIR" -Dlibtorch="$root" "$@" >/dev/null
fi
grep -q DINOCLIP_WITH_CUDA "$BUILD_DIR/build.ninja" ||
  { echo "device-check: $root has no libtorch_cuda.so: not a CUDA PyTorch" >&2; exit 1; }
targets=(tests/test_gpu_models examples/cli/dinoclip)
if grep -q "build tests/test_gpu_elements:" "$BUILD_DIR/build.ninja"; then
  targets+=(tests/test_gpu_elements)
  targets+=($(sed -n 's/^build \(gst\/libgstdinoclip\.so\): .*/\1/p' "$BUILD_DIR/build.ninja"))
else
  echo "device-check: no GStreamer development files: element GPU tests not built"
fi
grep -q "build tests/bench/bench_overlay:" "$BUILD_DIR/build.ninja" && targets+=(tests/bench/bench_overlay)

say "build ${targets[*]}"
ninja -C "$BUILD_DIR" "${targets[@]}"

say "GPU tests"
tests_ok=true
meson test -C "$BUILD_DIR" --no-rebuild --suite gpu --print-errorlogs || tests_ok=false

say "benchmarks (random weights: speed only)"
cli="$BUILD_DIR/examples/cli/dinoclip"
models="$BUILD_DIR/device-check"
mkdir -p "$models"
[ -f "$models/vits8.safetensors" ] || "$cli" make-model --arch vits8 --out "$models/vits8.safetensors" >/dev/null
[ -f "$models/clip-vitb16.safetensors" ] ||
  "$cli" make-model --arch clip-vitb16 --out "$models/clip-vitb16.safetensors" >/dev/null
results="$models/results.txt"
: >"$results"
bench() {  # label, then dinoclip bench arguments
  local label="$1"
  shift
  local out
  if out=$(timeout 120 "$cli" bench "$@" --device cuda --iters 20 2>&1); then
    printf '%-36s %s\n' "$label" "$(grep -o '[0-9.]* frames/s' <<<"$out" | head -n1)" | tee -a "$results"
  else
    printf '%-36s FAILED: %s\n' "$label" "$(tail -n1 <<<"$out")" | tee -a "$results"
  fi
}
for precision in bf16 fp32; do
  for batch in 1 16 64; do
    bench "DINO ViT-S/8 224 $precision batch $batch" dino --weights "$models/vits8.safetensors" --size 224x224 \
      --precision "$precision" --batch "$batch"
  done
  bench "DINO ViT-S/8 480 $precision batch 1" dino --weights "$models/vits8.safetensors" --size 480x480 \
    --precision "$precision" --batch 1
done
# The 480x480 target is end to end: from 8-bit 1280x720 frames, resized on the GPU (scale-method=fast).
bench "DINO ViT-S/8 480 fp32 from frames, fast" dino --weights "$models/vits8.safetensors" --size 480x480 \
  --scale-method fast --frame 1280x720
bench "CLIP ViT-B/16 image fp32 batch 64" clip --weights "$models/clip-vitb16.safetensors" --batch 64
# attnoverlay's GPU drawing per mode (target: 2000 frames/s for 1280x720 frames in CUDA memory).
if [ -x "$BUILD_DIR/tests/bench/bench_overlay" ]; then
  timeout 180 "$BUILD_DIR/tests/bench/bench_overlay" --device cuda --frames 200 --format RGBx | tee -a "$results" ||
    echo "bench_overlay --device cuda FAILED" | tee -a "$results"
fi

say "summary"
cat "$results"
echo "GPU tests: $($tests_ok && echo passed || echo FAILED); total $((SECONDS - started)) s"
$tests_ok
