// Random frames in every format attnoverlay draws on (packed RGB family,
// I420, NV12; padded strides), drawn on through the CPU paths
// (HostOverlayCanvas, YUV via an RGB copy; YuvOverlayCanvas in Y'CbCr) and
// through DeviceOverlay on a given device. Shared by test_device_overlay (CPU
// tensors), test_yuv_overlay_canvas, the GPU tests and bench_overlay.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "vision/frame_planes.h"
#include "vision/overlay_canvas.h"
#include "vision/yuv_overlay_canvas.h"

namespace dinoclip::testing {

struct FrameKind {
  FrameLayout layout;
  PixelFormat packed_format;  // kPacked only
  const char* name;
};

// RGB, BGR, RGBA, BGRA, RGBx, BGRx, I420, NV12.
extern const FrameKind kKinds[8];

// One frame's random bytes: packed (one padded plane) or YUV (padded Y and
// chroma planes); BT.601/709 and limited/full range vary with the seed.
struct TestFrame {
  FrameKind kind;
  int width, height;
  std::vector<int> strides, rows;  // per plane: bytes per row, rows
  std::vector<std::vector<std::uint8_t>> bytes;
  YuvMatrix matrix = YuvMatrix::kBt601;
  bool full_range = false;

  TestFrame(const FrameKind& kind, int width, int height, int padding, std::uint64_t seed);

  // Strided host views of the bytes (no copy).
  FramePlanes planes();
  // The RGB drawing: packed frames in place (HostOverlayCanvas), YUV through
  // an RGB copy (kStandard to RGB, HostOverlayCanvas, rgb_to_i420/nv12 back:
  // attnoverlay's CPU path before YuvOverlayCanvas).
  void draw_on_cpu(const std::function<void(OverlayCanvas&)>& draw);
  // YUV frames only: YuvOverlayCanvas on the planes in place (attnoverlay's CPU path).
  void draw_in_ycbcr(const std::function<void(OverlayCanvas&)>& draw);
  // attnoverlay's CPU path, which DeviceOverlay reproduces: packed frames
  // draw_on_cpu, YUV frames draw_in_ycbcr.
  void draw_reference(const std::function<void(OverlayCanvas&)>& draw);
  YuvPlanes yuv_planes();
  // DeviceOverlay on `device` (the frame uploaded there and copied back when it is not the CPU).
  void draw_on_device(const std::function<void(OverlayCanvas&)>& draw, const c10::Device& device);
};

// A frame's size and the padding after each row (bytes).
struct Size {
  int w, h, padding;
};

// Random drawing inputs: maps [n, h, w] in [-1, 2); an RGB grid [h, w, 3] uint8.
at::Tensor random_maps(int n, int h, int w, std::uint64_t seed);
at::Tensor random_grid(int h, int w, std::uint64_t seed);

struct Difference {
  std::int64_t differing = 0, total = 0;
  int worst = 0;
};

// Over every byte of every plane, padding included.
Difference difference(const TestFrame& a, const TestFrame& b);

}  // namespace dinoclip::testing
