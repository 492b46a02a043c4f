#!/usr/bin/env bash
# Makes the LibTorch 2.x inside a pinned PyPI torch wheel available and prints
# its root, for
#
#   meson setup build-lt2 -Dlibtorch="$(scripts/libtorch.sh)"
#
# The wheel is a complete LibTorch with CUDA 13 (headers, libtorch_cuda.so,
# CMake files, C++11 ABI). Wheels are downloaded once into a cache outside the
# repository ($DINOCLIP_CACHE_DIR, default ~/.cache/dinoclip/wheels), checked
# against the sha256 sums below, and unpacked into .libtorch/ (git-ignored).
# A second run prints the root at once.
#
# The CUDA runtime libraries libtorch needs at load time (cudart, cuBLAS,
# cuDNN, cuFFT, ...) come from the machine's CUDA 13 toolkit; the three the
# toolkit does not ship (cuFile, cuSPARSELt, NVSHMEM) come from their pinned
# nvidia-* wheels, unpacked where the torch libraries' RUNPATH looks for them.
# Nothing here needs a GPU: on a machine without one, LibTorch loads, reports
# no CUDA device, and runs on the CPU.
#
# Progress goes to stderr; stdout is only the root.
set -euo pipefail
cd "$(dirname "$0")/.."

TORCH_VERSION=2.11.0  # CUDA 13.0.2 + cuDNN 9.19: the same as the machines' toolkit
# file name | sha256 (from the package index; a mismatch aborts)
WHEELS=(
  "torch-2.11.0-cp311-cp311-manylinux_2_28_x86_64.whl|7aa2f9bbc6d4595ba72138026b2074be1233186150e9292865e04b7a63b8c67a"
  "nvidia_cufile-1.15.1.6-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl|08a3ecefae5a01c7f5117351c64f17c7c62efa5fffdbe24fc7d298da19cd0b44"
  "nvidia_cusparselt_cu13-0.8.0-py3-none-manylinux2014_x86_64.whl|25e30a8a7323935d4ad0340b95a0b69926eee755767e8e0b1cf8dd85b197d3fd"
  "nvidia_nvshmem_cu13-3.4.5-py3-none-manylinux2014_x86_64.manylinux_2_17_x86_64.whl|290f0a2ee94c9f3687a02502f3b9299a9f9fe826e6d0287ee18482e78d495b80"
)
# pip requirement for each wheel above, same order
REQUIREMENTS=(torch==2.11.0 nvidia-cufile==1.15.1.6 nvidia-cusparselt-cu13==0.8.0 nvidia-nvshmem-cu13==3.4.5)

source scripts/pinned-wheel.sh
CACHE_DIR="$WHEEL_CACHE_DIR"
DEST="$PWD/.libtorch/torch-$TORCH_VERSION-cu13"
ROOT="$DEST/torch"

say() { echo "libtorch.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }

if [ -f "$DEST/.complete" ]; then
  echo "$ROOT"
  exit 0
fi

lock_wheel_cache
for i in "${!WHEELS[@]}"; do
  fetch_pinned_wheel "${WHEELS[$i]%%|*}" "${WHEELS[$i]##*|}" "${REQUIREMENTS[$i]}" \
    manylinux_2_28_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64
done

say "unpacking into $DEST"
rm -rf "$DEST.partial"
mkdir -p "$DEST.partial"
unpack() {  # wheel, then the path prefixes to keep
  python3 - "$DEST.partial" "$@" <<'EOF'
import sys, zipfile
dest, wheel, prefixes = sys.argv[1], sys.argv[2], tuple(sys.argv[3:])
with zipfile.ZipFile(wheel) as z:
    for info in z.infolist():
        if info.filename.startswith(prefixes) and not info.filename.endswith("libtorch_python.so"):
            z.extract(info, dest)
EOF
}
unpack "$CACHE_DIR/${WHEELS[0]%%|*}" torch/include/ torch/lib/ torch/share/cmake/
for i in 1 2 3; do unpack "$CACHE_DIR/${WHEELS[$i]%%|*}" nvidia/; done

# Every library libtorch links must resolve now (toolkit + the wheels above);
# a missing one would only show later as a loader error in every test.
missing=$(LD_LIBRARY_PATH="" ldd "$DEST.partial"/torch/lib/libtorch_cuda.so "$DEST.partial"/torch/lib/libtorch_cpu.so |
  awk '/not found/ {print $1}' | sort -u | tr '\n' ' ')
if [ -n "$missing" ]; then
  die "libtorch needs libraries this machine lacks: $missing
  Install the CUDA 13 toolkit (it provides cudart, cuBLAS, cuDNN, cuFFT, cuRAND, cuSPARSE, NVRTC, NCCL, CUPTI)
  and make sure ldconfig finds it (e.g. /usr/local/cuda-13.0/lib in /etc/ld.so.conf.d/)."
fi

rm -rf "$DEST"
mv "$DEST.partial" "$DEST"
touch "$DEST/.complete"
say "LibTorch $TORCH_VERSION (CUDA 13) ready"
echo "$ROOT"
