// Random frames in every format attnoverlay draws on (packed RGB family,
// I420, NV12; padded strides), drawn on twice: through the CPU path
// (HostOverlayCanvas; YUV via an RGB copy, as the element does) and through
// DeviceOverlay on a given device. Shared by test_device_overlay (CPU
// tensors), the GPU tests and bench_overlay --device.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "vision/frame_planes.h"
#include "vision/overlay_canvas.h"

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
  // What attnoverlay's CPU path does: packed frames in place, YUV through an RGB copy.
  void draw_on_cpu(const std::function<void(OverlayCanvas&)>& draw);
  // DeviceOverlay on `device` (the frame uploaded there and copied back when it is not the CPU).
  void draw_on_device(const std::function<void(OverlayCanvas&)>& draw, const c10::Device& device);
};

struct Difference {
  std::int64_t differing = 0, total = 0;
  int worst = 0;
};

// Over every byte of every plane, padding included.
Difference difference(const TestFrame& a, const TestFrame& b);

}  // namespace dinoclip::testing
