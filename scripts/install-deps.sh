#!/usr/bin/env bash
# Installs every Debian 12 package dinoclip needs to build, test and run its demo.
# Idempotent; run as root (or with sudo available).
set -euo pipefail

packages=(
  # toolchain
  build-essential pkg-config meson ninja-build git
  # LibTorch (CPU) and a fast BLAS: Debian's reference BLAS is ~50x slower for matmul
  libtorch-dev libopenblas0-pthread
  # oneDNN headers: the ViT matrix products call the oneDNN that LibTorch links (lib/kernels/cpu/matmul.cpp)
  libdnnl-dev
  # GStreamer: headers, tools and the plugins used by the demo and the tests
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-tools
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav
  # GStreamer's CUDA library (gst/cuda, gstreamer-cuda-1.0): CUDA memory caps in CUDA LibTorch builds
  libgstreamer-plugins-bad1.0-dev
  # image files, text and unicode
  libpng-dev libjpeg-dev zlib1g-dev libutf8proc-dev nlohmann-json3-dev
  # the PostgreSQL video index (libpq only: the tests' server comes from scripts/pgserver.sh)
  libpq-dev
  libfreetype-dev fonts-dejavu-core
  # peer benchmark (scripts/peer-bench.sh): the reference models and their ONNX export
  python3-torch python3-venv
  # tests (the Python example app is run by the suite: PyGObject + GStreamer overrides)
  libgtest-dev libgmock-dev python3-gi python3-gst-1.0 gir1.2-gstreamer-1.0
  # dinometapublish method=mqtt (libmosquitto) and its tests (a real broker and client)
  libmosquitto-dev mosquitto mosquitto-clients
  # GObject introspection for the meta library (GstDinoclip-1.0) and the numpy example
  gobject-introspection libgirepository1.0-dev gir1.2-gst-plugins-base-1.0 python3-numpy
)

source "$(dirname "$0")/apt-missing.sh"
install_missing install-deps "${packages[@]}"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# OpenBLAS must be the active BLAS alternative (libtorch links libblas.so.3).
for alt in libblas.so.3-x86_64-linux-gnu liblapack.so.3-x86_64-linux-gnu; do
  target=$(update-alternatives --list "$alt" 2>/dev/null | grep openblas-pthread | head -n1 || true)
  if [ -n "$target" ]; then $SUDO update-alternatives --set "$alt" "$target" >/dev/null; fi
done
