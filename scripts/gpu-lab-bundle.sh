#!/usr/bin/env bash
# The GPU-lab bundle (../shared/gpu-lab/bundle.sh) plus issue 22's run script and PyTorch peers:
#   scripts/gpu-lab-bundle.sh [BUILD_DIR [DEST]]     # defaults: build-gpu, .gpu-bundle
# then, on the GPU machine from the checkout's root: bash .gpu-bundle/gpu-lab-run.sh
# Without the GStreamer plugin and test_gpu_elements in BUILD_DIR it packs the rest (the CLI, the model
# GPU tests, their libraries and fixtures) and the run skips the element steps.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-gpu} dest=${2:-.gpu-bundle}
fixtures=${DINOCLIP_FIXTURES:-../shared/fixtures}
if [ -f "$build/gst/libgstdinoclip.so" ] && [ -f "$build/tests/gpu/test_gpu_elements" ]; then
  bash ../shared/gpu-lab/bundle.sh "$build" "$dest"
else
  echo "gpu-lab-bundle: no GStreamer plugin / test_gpu_elements in $build: packing the CLI and model tests only" >&2
  rm -rf "$dest"; mkdir -p "$dest"/{bin,lib,fixtures}
  cp "$build"/tests/gpu/test_gpu_models "$build"/examples/cli/dinoclip "$dest/bin/"
  skip='^(linux-vdso|libc\.so|libm\.so|libpthread|libdl\.so|librt\.so|libutil|ld-linux|libtorch|libc10|libcuda|libcudart|libcublas|libcudnn|libnv|libcufft|libcufile|libcurand|libcusparse|libcusolver|libnccl|libgomp|libcaffe2|libshm|libcupti)'
  libpath=$(find "$build" -name '*.so*' -printf '%h\n' | sort -u | tr '\n' ':')
  for f in "$dest"/bin/*; do LD_LIBRARY_PATH="$libpath" ldd "$f" | awk '/=>/ {print $1, $3}'; done | sort -u |
    while read -r name path; do
      [[ $name =~ $skip ]] && continue
      [ "$path" = "not" ] && { echo "bundle: $name not found" >&2; continue; }
      cp -L "$path" "$dest/lib/$name"
    done
  strip --strip-unneeded "$dest"/bin/* "$dest"/lib/* 2>/dev/null || true
  cp -r "$fixtures/dino_tiny" "$dest/fixtures/"
  mkdir -p "$dest/fixtures/clip_tiny" "$dest/fixtures/tokenizer"
  cp "$fixtures"/clip_tiny/{clip_tiny_jit.pt,images_input.npy,text_tokens.npy} "$dest/fixtures/clip_tiny/"
  cp "$fixtures/tokenizer/bpe_simple_vocab_16e6.txt.gz" "$dest/fixtures/tokenizer/"
fi
# The DINOv2 / DINOv3 GPU tests read their toy fixtures too.
for f in dinov2_tiny dinov3_tiny; do [ -d "$fixtures/$f" ] && cp -r "$fixtures/$f" "$dest/fixtures/"; done
cp scripts/gpu-lab-run.sh scripts/gpu-lab-elements.sh scripts/gpu-lab-peers.py "$dest/"
for f in tests/gpu/test_gpu_cuda_memory tests/bench/bench_overlay tests/elements/bench_scheduler; do
  [ -f "$build/$f" ] && cp "$build/$f" "$dest/bin/"
done
# Issue 21's element table: two H.264 clips NVDEC decodes (constrained baseline, 4:2:0; their rate is
# the difference of the two lengths) and a 1280x720 mask for dinoseg's annotation.
rm -f "$dest/clip720.mp4"
for n in 150 1500; do
  gst-launch-1.0 -q videotestsrc num-buffers=$n pattern=ball ! video/x-raw,format=I420,width=1280,height=720,framerate=30/1 \
    ! x264enc speed-preset=ultrafast bitrate=1000 ! video/x-h264,profile=constrained-baseline ! h264parse ! mp4mux \
    ! filesink location="$dest/clip$n.mp4"
done
# (zlib only: no Python imaging library on these machines)
python3 - "$dest/mask720.png" <<'PY'
import struct, sys, zlib
w, h, cx, cy, r = 1280, 720, 640, 360, 200
rows = b"".join(b"\0" + bytes(255 if (x - cx) ** 2 + (y - cy) ** 2 <= r * r else 0 for x in range(w)) for y in range(h))
chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
open(sys.argv[1], "wb").write(png + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))
PY
# The device tool carries the checkout and the bundle, 64 MiB in all: everything but the run scripts
# travels as one gzip payload (about 60% of the size) that gpu-lab-run.sh unpacks where it lies.
tar -C "$dest" -czf "$dest.payload.tar.gz" --exclude=gpu-lab-run.sh --exclude=gpu-lab-elements.sh .
find "$dest" -mindepth 1 -not -name gpu-lab-run.sh -not -name gpu-lab-elements.sh -delete
mv "$dest.payload.tar.gz" "$dest/payload.tar.gz"
checkout_mb=$(git ls-files -z | du -cm --files0-from=- | tail -1 | cut -f1)
bundle_mb=$(du -sm "$dest" | cut -f1)
echo "gpu-lab-bundle: $dest, $bundle_mb MB (+ checkout $checkout_mb MB); run: bash $dest/gpu-lab-run.sh"
if [ $((bundle_mb + checkout_mb)) -ge 63 ]; then
  echo "gpu-lab-bundle: the checkout and the bundle exceed the device tool's 64 MiB: drop fixtures/clip_tiny" >&2
  exit 1
fi
